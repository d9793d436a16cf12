package grpcsys

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRunEveryScenario(t *testing.T) {
	loadtest.RunScenarios(t, New(), 2, 300*time.Millisecond,
		loadtest.Scenario{Scenario: load.Unary, Concurrency: 16},
		loadtest.Scenario{Scenario: load.Pipelined, Concurrency: 32},
		loadtest.Scenario{Scenario: load.ServerStream, Concurrency: 1},
		loadtest.Scenario{Scenario: load.Bidi, Concurrency: 32})
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
	// A copying message (streams): the wire bytes do not change with the
	// caller's buffer.
	in := &msg{b: []byte("payload"), copy: true}
	wire, err := codec{}.Marshal(in)
	require.NoError(t, err)
	in.b[0] = 'X'
	var out msg
	require.NoError(t, codec{}.Unmarshal(wire, &out))
	assert.Equal(t, "payload", string(out.b))
	// A unary request travels as it is: no copy, no allocation.
	un := &msg{b: []byte("payload")}
	wire, err = codec{}.Marshal(un)
	require.NoError(t, err)
	assert.Same(t, &un.b[0], &wire[0])
	// Unmarshal copies: data is valid only during the call.
	data := []byte("reply")
	require.NoError(t, codec{}.Unmarshal(data, &out))
	data[0] = 'X'
	assert.Equal(t, "reply", string(out.b))
	_, err = codec{}.Marshal("not a msg")
	require.Error(t, err)
	require.Error(t, codec{}.Unmarshal(wire, new(int)))
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range gRPCConfigs {
		require.NoError(t, o.Validate(), "%v", o)
	}
	for _, o := range []Options{{CallContext: -1}, {CallContext: BackgroundContext + 1}, {Window: -1}, {Window: 1000}} {
		err := o.Validate()
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		_, err = NewWith(o).Serve(context.Background(), "127.0.0.1:0", load.Options{})
		require.ErrorIs(t, err, ErrInvalidOptions)
		_, err = NewWith(o).Dial(context.Background(), "127.0.0.1:1", load.Options{})
		require.ErrorIs(t, err, ErrInvalidOptions)
	}
}

// Each call context mode completes calls, and a caller's own context is
// canceled when the run's context ends.
func TestCallContexts(t *testing.T) {
	for _, mode := range []CallContext{CallerContext, RunContext, BackgroundContext} {
		t.Run(mode.String(), func(t *testing.T) {
			sys := NewWith(Options{CallContext: mode})
			opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
			srv, err := sys.Serve(context.Background(), "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			c, err := sys.Dial(context.Background(), srv.Addr(), opts)
			require.NoError(t, err)
			defer c.Close()
			k, err := c.NewCaller(0)
			require.NoError(t, err)
			run, end := context.WithCancel(context.Background())
			require.NoError(t, k.Call(run, make([]byte, 16)))
			if mode == CallerContext {
				own := k.(*caller).own
				require.NoError(t, own.Err())
				end()
				require.Eventually(t, func() bool { return own.Err() != nil }, 5*time.Second, time.Millisecond)
			}
			end()
			require.NoError(t, k.Close())
		})
	}
	assert.Equal(t, "CallContext(7)", CallContext(7).String())
}
