package typedsys

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/typedsys/echopb"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// BenchmarkUnaryParts splits the typed path's cost on one server and one
// connection: raw bytes through an rpc.Caller (psbench's "protosocket"),
// raw bytes through Client.Call (what the generated client calls), and the
// typed client. 64 parallel callers, ReuseContexts on.
//
//	go test -run '^$' -bench UnaryParts -count 3 ./internal/typedsys/
func BenchmarkUnaryParts(b *testing.B) {
	srv, err := rpc.NewServer(rpc.ServerOptions{ReuseContexts: true})
	require.NoError(b, err)
	srv.Handle(1000, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	echopb.RegisterEcho(srv, echo{}, rpc.Inline)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()
	ctx := context.Background()
	conn, err := rpc.Dial(ctx, "tcp", ln.Addr().String(), rpc.ClientOptions{})
	require.NoError(b, err)
	defer conn.Close()
	run := func(name string, mk func() func() error) {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				f := mk()
				for pb.Next() {
					if err := f(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	for range 3 {
		run("caller", func() func() error {
			k, err := conn.NewCaller()
			require.NoError(b, err)
			p, dst := make([]byte, 16), []byte(nil)
			return func() error { dst, err = k.Call(ctx, 1000, p, dst[:0]); return err }
		})
		run("clientcall", func() func() error {
			p, dst := make([]byte, 16), []byte(nil)
			return func() error {
				var err error
				dst, err = conn.Call(ctx, 1000, p, dst[:0])
				return err
			}
		})
		run("clientcall36", func() func() error {
			p, dst := make([]byte, 36), []byte(nil)
			return func() error {
				var err error
				dst, err = conn.Call(ctx, 1000, p, dst[:0])
				return err
			}
		})
		run("typed", func() func() error {
			c := echopb.NewEchoClient(conn)
			p := make([]byte, 16)
			return func() error { _, err := c.Echo(ctx, c.BeginEcho().SetData(p)); return err }
		})
	}
}
