package main

// The snippets of docs/guide.md, compiled and run: each Example below is
// the guide's code (the guide quotes the part between "guide:" markers).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/examples/cache/cacheserver"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

// guideServer starts the guide's server on loopback and returns its
// address and a stop function that drains it.
func guideServer() (string, *cacheserver.Store, func()) {
	// guide:server
	srv, err := rpc.NewServer(rpc.ServerOptions{
		Socket:        socket.Options{MaxFrameSize: 2 << 20, IdleTimeout: 2 * time.Minute},
		ReuseContexts: true, // our handlers never keep ctx: no allocation per call
	})
	if err != nil {
		panic(err)
	}
	store := cacheserver.New(cacheserver.Options{})
	cachepb.RegisterCache(srv, store, rpc.Inline) // Get/Set/Delete never block
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	// guide:end
	return ln.Addr().String(), store, func() {
		// guide:drain
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Drain(ctx); err != nil { // calls in flight finish; new ones go elsewhere
			fmt.Println("drain:", err)
		}
		// guide:end
	}
}

// Example_client is the guide's "Client" section.
func Example_client() {
	addr, _, stop := guideServer()
	defer stop()
	ctx := context.Background()

	// guide:client
	conn, err := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{
		Socket: socket.Options{MaxFrameSize: 2 << 20},
	})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	c := cachepb.NewCacheClient(conn) // one per goroutine: it reuses its buffers

	if _, err := c.Set(ctx, c.BeginSet().SetKey("user:1").SetValue([]byte("ada")).SetTtlMs(60_000)); err != nil {
		panic(err)
	}
	r, err := c.Get(ctx, c.BeginGet().SetKey("user:1"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("found=%v value=%s\n", r.Found(), r.Value()) // r is valid until the next call on c
	// guide:end

	// Output:
	// found=true value=ada
}

// Example_watch is the guide's "Streams" and "Deadlines and
// cancellation" sections.
func Example_watch() {
	addr, store, stop := guideServer()
	defer stop()
	ctx := context.Background()
	conn, err := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	c, wc := cachepb.NewCacheClient(conn), cachepb.NewCacheClient(conn)

	// guide:watch
	wctx, cancel := context.WithCancel(ctx) // canceling ends the watch on both sides
	st, err := wc.Watch(wctx, wc.BeginWatch().SetPrefix("user:"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	// guide:end
	for store.Watchers() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Set(ctx, c.BeginSet().SetKey("user:2").SetValue([]byte("grace"))); err != nil {
		panic(err)
	}
	// guide:recv
	ev, err := st.Recv() // a view valid until the next Recv
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Kind(), ev.Key(), string(ev.Value()))
	cancel()
	_, err = st.Recv()
	fmt.Println(errors.Is(err, context.Canceled), errors.Is(err, io.EOF))
	// guide:end

	// guide:deadline
	dctx, dcancel := context.WithTimeout(ctx, 100*time.Millisecond) // travels with the call
	defer dcancel()
	_, err = c.Get(dctx, c.BeginGet().SetKey("user:2"))
	fmt.Println(err) // the server answers well within 100 ms
	// guide:end

	// Output:
	// set user:2 grace
	// true false
	// <nil>
}

// Example_pool is the guide's "Pools" and "Errors" sections.
func Example_pool() {
	addr, _, stop := guideServer()
	defer stop()
	ctx := context.Background()

	// guide:pool
	p, err := balance.New(ctx, balance.Static{addr}, balance.Options{
		ConnsPerAddr: 2,
		Client:       rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: 2 << 20}},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	if err := p.WaitReady(ctx); err != nil { // the pool dials in the background
		panic(err)
	}
	c := cachepb.NewCachePoolClient(p) // a refused call is retried on another connection
	// guide:end

	// guide:errors
	_, err = c.Set(ctx, c.BeginSet().SetKey("").SetValue([]byte("x")))
	var e *rpc.Error
	switch {
	case errors.Is(err, rpc.ErrUnavailable): // not processed: safe to retry elsewhere
	case errors.Is(err, rpc.ErrClosed): // may have run
	case errors.As(err, &e): // the server's answer
		fmt.Println(e.Code == rpc.CodeInvalidArgument, e.Message)
	case err != nil: // ctx, or a response of the wrong type (rpc.ErrProtocol)
	}
	// guide:end

	// Output:
	// true cache: key must be 1..1024 bytes
}
