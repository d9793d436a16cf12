package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

func Example() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) {
		return append(append(dst, "hello, "...), req...), nil
	}, rpc.Inline)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	c, _ := rpc.Dial(context.Background(), "tcp", ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()
	k, _ := c.NewCaller()
	defer k.Close()
	resp, err := k.Call(context.Background(), 1, []byte("world"), nil)
	fmt.Println(string(resp), err)
	_, err = k.Call(context.Background(), 2, nil, nil)
	fmt.Println(errors.Is(err, rpc.ErrUnimplemented))
	// Output:
	// hello, world <nil>
	// true
}

// ExampleServer_Drain: after a drain a call is refused as not processed
// (ErrUnavailable: safe to retry on another server), never as "may have
// run" (ErrClosed).
func ExampleServer_Drain() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()

	c, _ := rpc.Dial(context.Background(), "tcp", ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()
	resp, err := c.Call(context.Background(), 1, []byte("before"), nil)
	fmt.Println(string(resp), err)
	fmt.Println(srv.Drain(context.Background()))
	<-done
	_, err = c.Call(context.Background(), 1, []byte("after"), nil)
	fmt.Println(errors.Is(err, rpc.ErrUnavailable), errors.Is(err, rpc.ErrClosed), c.Draining())
	// Output:
	// before <nil>
	// <nil>
	// true false true
}

// A handler sets a response header and trailer and fails with a gRPC
// code and details; the caller gets all of them.
func ExampleSetHeader() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		_ = rpc.SetHeader(ctx, "server", []byte("s1"))
		_ = rpc.SetTrailer(ctx, "cost", []byte("3"))
		return dst, &rpc.Error{Code: rpc.CodeFailedPrecondition, Message: "not ready", Details: []byte{42}}
	}, rpc.Inline)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	c, _ := rpc.Dial(context.Background(), "tcp", ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()
	var rmd rpc.ResponseMetadata
	_, err := c.Call(rpc.WithResponseMetadata(context.Background(), &rmd), 1, nil, nil)
	var e *rpc.Error
	fmt.Println(errors.Is(err, rpc.ErrFailedPrecondition), errors.As(err, &e), e.Code, uint32(e.Code), e.Details)
	h, _ := rmd.Header.Get("server")
	t, _ := rmd.Trailer.Get("cost")
	fmt.Println(string(h), string(t))
	// Output:
	// true true FailedPrecondition 9 [42]
	// s1 3
}

// A batched echo: the handler takes the messages Recv has without
// waiting (Buffered) and answers them with one SendMany; the client sends
// its messages with one SendMany too.
func ExampleServerStream_SendMany() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.HandleStream(1, func(_ context.Context, st *rpc.ServerStream) error {
		var msgs [][]byte
		for {
			m, err := st.Recv(nil)
			if err != nil {
				return nil // io.EOF: the client is done
			}
			msgs = append(msgs[:0], m)
			for n := st.Buffered(); n > 0; n-- {
				m, _ = st.Recv(nil)
				msgs = append(msgs, m)
			}
			if _, err := st.SendMany(msgs); err != nil {
				return err
			}
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	c, _ := rpc.Dial(context.Background(), "tcp", ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()
	st, _ := c.OpenStream(context.Background(), 1, nil)
	defer st.Close()
	n, err := st.SendMany([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	fmt.Println(n, err)
	_ = st.CloseSend()
	for {
		m, err := st.Recv(nil)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(m))
	}
	// Output:
	// 3 <nil>
	// a
	// b
	// c
	// EOF
}
