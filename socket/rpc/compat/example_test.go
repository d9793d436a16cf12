package compat_test

import (
	"context"
	"fmt"
	"net"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

func Example() {
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(_ context.Context, req, resp *msg) error {
		resp.body = append([]byte("hello, "), req.body...)
		return nil
	}, compat.Options{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	defer func() { stop(); <-done }()

	cl, _ := compat.Dial[msg, msg](context.Background(), "tcp", ln.Addr().String(), codec{}, codec{}, compat.Options{})
	defer cl.Close()
	var resp msg
	err := cl.Call(context.Background(), &msg{body: []byte("rust")}, &resp)
	fmt.Println(string(resp.body), resp.id, err)
	// Output: hello, rust 1 <nil>
}

func ExampleRead() {
	for _, c := range []compat.Control{0, 1, 2, 3, 255, 256, 257, 258} {
		fmt.Print(compat.Read(c), " ")
	}
	fmt.Println()
	// Output: 0 1 2 1 1 0 1 2
}
