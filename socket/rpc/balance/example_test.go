package balance_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

func Example() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, "pong"...), nil }, rpc.Inline)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	p, _ := balance.New(context.Background(), balance.Static{ln.Addr().String()}, balance.Options{ConnsPerAddr: 2})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.WaitReady(ctx)
	resp, err := p.Call(ctx, 1, []byte("ping"), nil)
	fmt.Println(string(resp), err)
	// Output: pong <nil>
}

// ExampleWaitForReady: a call made as the pool starts waits for its
// first connection (bounded by its ctx) instead of failing with ErrNoConn.
func ExampleWaitForReady() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	p, _ := balance.New(context.Background(), balance.Static{ln.Addr().String()}, balance.Options{ConnsPerAddr: 1})
	defer p.Close()

	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, "pong"...), nil }, rpc.Inline)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := p.Call(ctx, 1, nil, nil, balance.WaitForReady())
	fmt.Println(string(resp), err)
	// Output: pong <nil>
}
