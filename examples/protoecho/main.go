// Command protoecho runs the protoecho service (see package echo and
// echo.proto): with no flags it starts the server on loopback, calls it
// unary (through socket/rpc/compat with codec/protobuf's Compat codec),
// streaming and with a cancel, prints the answers and exits; with -server
// ADDR it only serves, for clients in other languages (interop/).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

func main() {
	addr := flag.String("server", "", "only serve on this address (e.g. 127.0.0.1:9000); print \"listening ADDR\" once ready")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *addr != "" {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listening", ln.Addr())
		if err := echo.Serve(ctx, ln, socket.Options{}); err != nil && ctx.Err() == nil {
			log.Fatal(err)
		}
		return
	}
	if err := demo(ctx); err != nil {
		log.Fatal(err)
	}
}

func demo(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- echo.Serve(sctx, ln, socket.Options{}) }()
	defer func() { stopServer(); <-served }()

	// Unary through the generic compat client and the protobuf Compat codec.
	reqc, err := protobuf.NewCompat[echo.EchoRequest](0, 0)
	if err != nil {
		return err
	}
	respc, err := protobuf.NewCompat[echo.EchoResponse](0, 0)
	if err != nil {
		return err
	}
	cc, err := compat.Dial(ctx, "tcp", ln.Addr().String(), reqc, respc, compat.Options{})
	if err != nil {
		return err
	}
	var r echo.EchoResponse
	err = cc.Call(ctx, &echo.EchoRequest{Message: "hello"}, &r)
	_ = cc.Close()
	if err != nil {
		return err
	}
	fmt.Printf("unary: %q (id %d)\n", r.GetMessage(), r.GetRequestId())

	cl, err := echo.Dial(ctx, "tcp", ln.Addr().String(), socket.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	n := 0
	err = cl.Call(ctx, &echo.EchoRequest{Message: "tick", StreamCount: 3}, func(r *echo.EchoResponse) {
		fmt.Printf("stream: %q seq %d\n", r.GetMessage(), r.GetSeq())
		n++
	})
	if err != nil {
		return err
	}
	fmt.Printf("stream ended after %d replies\n", n)

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = cl.Call(cctx, &echo.EchoRequest{Message: "slow", DelayMs: 10000}, func(*echo.EchoResponse) {})
	fmt.Println("canceled call:", err)
	return nil
}
