package greetersys

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestUnary(t *testing.T) {
	for _, s := range Systems() {
		t.Run(s.Name(), func(t *testing.T) {
			loadtest.RunScenarios(t, s, 2, 300*time.Millisecond,
				loadtest.Scenario{Scenario: load.Unary, Concurrency: 16})
		})
	}
}

// TestStreamsUnsupported: the streaming scenarios fail at once with
// ErrUnsupported rather than serving something that is not the greeter.
func TestStreamsUnsupported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range Systems() {
		opts := load.Options{Scenario: load.Bidi, Conns: 1, Concurrency: 1, Payload: 16}
		srv, err := s.Serve(ctx, "127.0.0.1:0", opts)
		require.NoError(t, err)
		c, err := s.Dial(ctx, srv.Addr(), opts)
		require.NoError(t, err)
		_, err = c.OpenStream(ctx, 0)
		require.ErrorIs(t, err, ErrUnsupported, s.Name())
		require.NoError(t, c.Close())
		require.NoError(t, srv.Close())
	}
}
