package compatsys

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
)

// BenchmarkUnary256 drives 256 concurrent callers over one connection,
// native ("protosocket") and compat side by side in one binary:
//
//	cd bench && go test -run XXX -bench Unary256 -count 4 ./internal/compatsys/
func BenchmarkUnary256(b *testing.B) {
	for _, c := range []struct {
		name string
		sys  load.System
	}{{"protosocket", rpcbench.New()}, {"compat-inline", New()}, {"compat-pooled", System{Pooled: true}}} {
		sys := c.sys
		b.Run(c.name, func(b *testing.B) {
			opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 256}
			srv, err := sys.Serve(context.Background(), "127.0.0.1:0", opts)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			cl, err := sys.Dial(context.Background(), srv.Addr(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			b.SetParallelism(128) // x GOMAXPROCS (2) = 256 callers
			b.ReportAllocs()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				k, err := cl.NewCaller(int(n.Add(1)))
				if err != nil {
					b.Error(err)
					return
				}
				defer k.Close()
				req := make([]byte, 16)
				for pb.Next() {
					if err := k.Call(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
