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

func TestStreams(t *testing.T) {
	for _, sc := range []load.Scenario{load.Pipelined, load.Bidi, load.ServerStream} {
		t.Run(string(sc), func(t *testing.T) {
			opts := load.Options{Scenario: sc, Payload: 32, Conns: 1, Concurrency: 8}
			srv, err := New().Serve(context.Background(), "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			cl, err := New().Dial(context.Background(), srv.Addr(), opts)
			require.NoError(t, err)
			defer cl.Close()
			st, err := cl.OpenStream(context.Background(), 0)
			require.NoError(t, err)
			for i := range 100 {
				if sc != load.ServerStream {
					p := make([]byte, 32)
					p[0] = byte(i)
					require.NoError(t, st.Send(p))
					require.NoError(t, st.Flush())
				}
				got, err := st.Recv()
				require.NoError(t, err)
				require.Len(t, got, 32)
				if sc == load.ServerStream {
					require.NotZero(t, load.Stamp(got))
				} else {
					require.Equal(t, byte(i), got[0], "in order")
				}
			}
			require.NoError(t, st.Close())
		})
	}
}
