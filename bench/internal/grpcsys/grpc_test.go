package grpcsys

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRunEveryScenario(t *testing.T) {
	tests := []struct {
		sc   load.Scenario
		conc int
	}{
		{load.Unary, 16}, {load.Pipelined, 32}, {load.ServerStream, 1}, {load.Bidi, 32},
	}
	for _, tt := range tests {
		t.Run(string(tt.sc), func(t *testing.T) {
			ctx := context.Background()
			opts := load.Options{Scenario: tt.sc, Payload: 16, Conns: 2, Concurrency: tt.conc}
			srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			c, err := New().Dial(ctx, srv.Addr(), opts)
			require.NoError(t, err)
			defer c.Close()
			res, err := load.Run(ctx, c, load.Config{Options: opts, Duration: 300 * time.Millisecond})
			require.NoError(t, err)
			assert.Positive(t, res.Ops)
			assert.Zero(t, res.Errors, "first error: %v", res.FirstError)
			assert.Positive(t, res.Percentile(50))
		})
	}
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = New().Dial(ctx, addr, load.Options{Conns: 1})
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestCodecRoundTrip(t *testing.T) {
	in := &msg{b: []byte("payload")}
	wire, err := codec{}.Marshal(in)
	require.NoError(t, err)
	in.b[0] = 'X' // the wire copy must not change with the caller's buffer
	var out msg
	require.NoError(t, codec{}.Unmarshal(wire, &out))
	assert.Equal(t, "payload", string(out.b))
	_, err = codec{}.Marshal("not a msg")
	require.Error(t, err)
	require.Error(t, codec{}.Unmarshal(wire, new(int)))
}
