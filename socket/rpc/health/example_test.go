package health_test

import (
	"context"
	"fmt"
	"net"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/health"
)

func Example() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	hs := health.NewServer()
	hs.Register(srv)
	hs.SetServingStatus("cache", health.Serving)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() {
		hs.Close() // ends the watches, which Drain and Close wait for
		_ = srv.Close()
		<-done
	}()

	ctx := context.Background()
	c, _ := rpc.Dial(ctx, "tcp", ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()
	st, err := health.Check(ctx, c, "cache")
	fmt.Println(st, err)

	w, _ := health.Watch(ctx, c, "cache")
	defer w.Close()
	st, _ = w.Recv() // the current status first
	fmt.Println(st)
	hs.Shutdown() // before draining: watchers move away
	st, _ = w.Recv()
	fmt.Println(st)
	// Output:
	// SERVING <nil>
	// SERVING
	// NOT_SERVING
}
