package greeterpb_test

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/protosocket-go/protosocket/examples/greeter/greeterpb"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

type greeter struct{}

func (greeter) SayHello(_ context.Context, req *greeterpb.HelloRequest, resp *greeterpb.HelloReply) error {
	resp.Message = "Hello " + req.GetName()
	return nil
}

func (greeter) SayHelloStream(_ context.Context, req *greeterpb.HelloRequest, st *greeterpb.PSGreeter_SayHelloStreamServer) error {
	for i := range req.GetCount() {
		if err := st.Send(&greeterpb.HelloReply{Message: fmt.Sprint("Hello ", req.GetName(), " ", i)}); err != nil {
			return err
		}
	}
	return nil
}

// The generated server and client over one loopback connection.
func ExampleNewPSGreeterClient() {
	ctx := context.Background()
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	greeterpb.RegisterPSGreeterServer(srv, greeter{}, rpc.Inline)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ctx, ln) })
	defer wg.Wait()
	defer srv.Close()

	conn, err := rpc.Dial(ctx, "tcp", ln.Addr().String(), rpc.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	c := greeterpb.NewPSGreeterClient(conn)

	var reply greeterpb.HelloReply // reused: SayHelloInto allocates nothing of its own
	for _, name := range []string{"Ada", "Grace"} {
		if err := c.SayHelloInto(ctx, &greeterpb.HelloRequest{Name: name}, &reply); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(reply.GetMessage())
	}
	// Output:
	// Hello Ada
	// Hello Grace
}
