// Command rustecho speaks the upstream protosocket-rpc examples' protocol
// exactly, so that the unmodified Rust example-proto and
// example-messagepack clients and servers interoperate with it:
//
//	rustecho -server 127.0.0.1:9000 [-codec protobuf|messagepack]
//	rustecho -client 127.0.0.1:9000 [-codec protobuf|messagepack]
//
// -server serves the examples' echo service (UNARY echoes once, STREAM
// sends one item per byte of the message then End, a request without body
// is rejected with Cancel); -client calls such a server (a Rust example
// server or this one) and prints the answers. With neither it runs both
// codecs' servers on loopback and calls them. Protobuf messages are
// example.proto (package pbecho), varint-delimited; MessagePack messages
// are package mpecho, framed by codec/msgpack.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/protosocket-go/protosocket/socket"
)

func main() {
	serveAddr := flag.String("server", "", "only serve on this address (the Rust examples use 127.0.0.1:9000); print \"listening ADDR\" once ready")
	clientAddr := flag.String("client", "", "only call the server at this address")
	codec := flag.String("codec", "protobuf", "protobuf (example-proto) or messagepack (example-messagepack)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch {
	case *serveAddr != "":
		err = serve(ctx, *codec, *serveAddr, func(a net.Addr) { fmt.Println("listening", a) })
	case *clientAddr != "":
		err = exercise(ctx, os.Stdout, *codec, *clientAddr)
	default:
		err = demo(ctx, os.Stdout)
	}
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// serve serves codec's service on addr until ctx ends.
func serve(ctx context.Context, codec, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ready(ln.Addr())
	switch codec {
	case "protobuf":
		return newProtoServer(socket.Options{}).Serve(ctx, ln)
	case "messagepack":
		return newMsgpackServer(socket.Options{}).Serve(ctx, ln)
	}
	_ = ln.Close()
	return fmt.Errorf("rustecho: unknown codec %q (protobuf or messagepack)", codec)
}

// demo serves both codecs on loopback and calls each.
func demo(ctx context.Context, w io.Writer) error {
	for _, codec := range []string{"protobuf", "messagepack"} {
		sctx, cancel := context.WithCancel(ctx)
		addrc := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- serve(sctx, codec, "127.0.0.1:0", func(a net.Addr) { addrc <- a.String() }) }()
		var err error
		select {
		case addr := <-addrc:
			err = exercise(ctx, w, codec, addr)
			cancel()
			<-done
		case err = <-done: // could not listen
			cancel()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
