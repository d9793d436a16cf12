package typedsys

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEcho(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 2, Concurrency: 4}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	cl, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer cl.Close()
	k, err := cl.NewCaller(1)
	require.NoError(t, err)
	defer k.Close()
	for _, n := range []int{0, 16, 4096} {
		require.NoError(t, k.Call(ctx, make([]byte, n)))
	}
	_, err = cl.OpenStream(ctx, 0)
	assert.ErrorIs(t, err, ErrUnsupported)
}

// BenchmarkUnary puts the typed echo next to the raw-bytes RPC echo
// (rpcbench, the psbench "protosocket" system) in one binary, alternating
// them in three rounds, 64 parallel callers on one connection; "reuse"
// is both with ServerOptions.ReuseContexts (0 allocations per call).
//
//	go test -run '^$' -bench Unary -benchtime 2s ./internal/typedsys/
func BenchmarkUnary(b *testing.B) {
	reuse := rpc.ServerOptions{ReuseContexts: true}
	systems := []struct {
		name string
		sys  load.System
	}{
		{"raw", rpcbench.New()}, {"typed", New()},
		{"raw-reuse", rpcbench.System{Server: reuse}}, {"typed-reuse", System{Server: reuse}},
	}
	for range 3 {
		for _, s := range systems {
			b.Run(s.name, func(b *testing.B) { benchUnary(b, s.sys) })
		}
	}
}

func benchUnary(b *testing.B, sys load.System) {
	{
		{
			ctx := context.Background()
			opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 64}
			srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
			require.NoError(b, err)
			defer srv.Close()
			cl, err := sys.Dial(ctx, srv.Addr(), opts)
			require.NoError(b, err)
			defer cl.Close()
			b.SetParallelism(32) // 64 callers on 2 CPUs
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				k, err := cl.NewCaller(0)
				if err != nil {
					b.Error(err)
					return
				}
				defer k.Close()
				p := make([]byte, 16)
				for pb.Next() {
					if err := k.Call(ctx, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
}
