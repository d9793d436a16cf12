// Command greeter runs the greeter service (greeterpb/greeter.proto) over
// protosocket with the stubs protoc-gen-go-protosocket generated: it
// starts a server on loopback, calls SayHello, reads a SayHelloStream,
// prints the answers and exits. With -server ADDR it only serves.
//
//	go run ./examples/greeter -name world -count 3
//
// docs/migrating-from-grpc.md puts this program next to its grpc-go form.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/protosocket-go/protosocket/examples/greeter/greeterpb"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// MaxCount bounds SayHelloStream's count: a request for more is refused
// with rpc.CodeInvalidArgument.
const MaxCount = 100

// server implements greeterpb.PSGreeterServer.
type server struct{}

// SayHello fills resp; req and resp are only valid until it returns.
func (server) SayHello(_ context.Context, req *greeterpb.HelloRequest, resp *greeterpb.HelloReply) error {
	resp.Message = "Hello " + req.GetName()
	return nil
}

// SayHelloStream sends count greetings.
func (server) SayHelloStream(_ context.Context, req *greeterpb.HelloRequest, stream *greeterpb.PSGreeter_SayHelloStreamServer) error {
	if req.GetCount() > MaxCount {
		return rpc.NewError(rpc.CodeInvalidArgument, fmt.Sprintf("count %d is over %d", req.GetCount(), MaxCount))
	}
	for i := range req.GetCount() {
		if err := stream.Send(&greeterpb.HelloReply{Message: fmt.Sprintf("Hello %s (%d)", req.GetName(), i+1)}); err != nil {
			return err
		}
	}
	return nil
}

// Serve serves the greeter on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener) error {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	if err != nil {
		return err
	}
	greeterpb.RegisterPSGreeterServer(srv, server{}, rpc.Inline) // SayHello never blocks
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return srv.Serve(ctx, ln)
}

// greet calls the server at addr and writes what it answers to w.
func greet(ctx context.Context, addr, name string, count uint32, w io.Writer) error {
	conn, err := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{})
	if err != nil {
		return err
	}
	defer conn.Close()
	c := greeterpb.NewPSGreeterClient(conn)

	r, err := c.SayHello(ctx, &greeterpb.HelloRequest{Name: name})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, r.GetMessage())

	st, err := c.SayHelloStream(ctx, &greeterpb.HelloRequest{Name: name, Count: count})
	if err != nil {
		return err
	}
	defer st.Close()
	var reply greeterpb.HelloReply // reused for every message
	for {
		err := st.Recv(&reply)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(w, reply.GetMessage())
	}
}

// demo serves on a loopback port and greets it.
func demo(ctx context.Context, name string, count uint32, w io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- Serve(sctx, ln) }()
	err = greet(ctx, ln.Addr().String(), name, count, w)
	stop()
	return errors.Join(err, <-served)
}

func main() {
	addr := flag.String("server", "", "only serve on this address (e.g. 127.0.0.1:9000)")
	name := flag.String("name", "world", "whom to greet")
	count := flag.Uint("count", 3, "greetings to stream (at most 100)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *addr != "" {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listening", ln.Addr())
		if err := Serve(ctx, ln); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := demo(ctx, *name, uint32(min(*count, 1<<32-1)), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
