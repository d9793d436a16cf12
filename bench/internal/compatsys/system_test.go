package compatsys

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestUnary(t *testing.T) {
	for _, sys := range []System{{}, {Pooled: true}} {
		opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 2}
		srv, err := sys.Serve(context.Background(), "127.0.0.1:0", opts)
		require.NoError(t, err)
		cl, err := sys.Dial(context.Background(), srv.Addr(), opts)
		require.NoError(t, err)
		for i := range 4 {
			k, err := cl.NewCaller(i)
			require.NoError(t, err)
			for range 100 {
				require.NoError(t, k.Call(context.Background(), make([]byte, 16)))
			}
			require.NoError(t, k.Close())
		}
		require.NoError(t, cl.Close())
		require.NoError(t, srv.Close())
	}
}

func TestOnlyUnary(t *testing.T) {
	srv, err := New().Serve(context.Background(), "127.0.0.1:0", load.Options{})
	require.NoError(t, err)
	defer srv.Close()
	_, err = New().Dial(context.Background(), srv.Addr(), load.Options{Scenario: load.Pipelined})
	require.ErrorIs(t, err, ErrScenario)
}
