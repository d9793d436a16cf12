package socket_test

import (
	"context"
	"fmt"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// An echo server and a client that sends three messages and prints the
// replies.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	if err != nil {
		panic(err)
	}
	served := make(chan error)
	go func() {
		served <- socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
				_ = c.Reply(m.Header, m.Payload) // m.Payload is valid until we return; Reply copies it
				return socket.Continue
			})
		}, socket.Options{})
	}()

	replies := make(chan string, 3)
	client, err := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.ReactorFunc(
		func(c *socket.Conn, m socket.Message) socket.Action {
			replies <- fmt.Sprintf("stream %d: %s", m.Header.Stream, m.Payload)
			return socket.Continue
		}), socket.Options{})
	if err != nil {
		panic(err)
	}
	s := client.NewSender(nil) // one Sender per sending goroutine
	for i, msg := range []string{"ping", "pong", "bye"} {
		if err := s.Send(ctx, frame.Header{Stream: uint32(i + 1)}, []byte(msg)); err != nil {
			panic(err)
		}
	}
	for range 3 {
		fmt.Println(<-replies)
	}
	s.Close()
	_ = client.Drain(ctx)
	stop()
	fmt.Println("serve:", <-served)
	// Output:
	// stream 1: ping
	// stream 2: pong
	// stream 3: bye
	// serve: <nil>
}

// A line-oriented server (try it with nc): frame.Lines framing.
func ExampleServe_lines() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	opts := socket.Options{Framing: frame.Lines}
	ln, _ := socket.Listen(ctx, "tcp", "127.0.0.1:0", opts)
	go func() {
		_ = socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
				if string(m.Payload) == "quit" {
					return socket.Disconnect
				}
				_ = c.Reply(frame.Header{}, append([]byte("you said: "), m.Payload...))
				return socket.Continue
			})
		}, opts)
	}()
	got := make(chan string, 1)
	c, _ := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
		got <- string(m.Payload)
		return socket.Continue
	}), opts)
	s := c.NewSender(nil)
	_ = s.Send(ctx, frame.Header{}, []byte("hello"))
	fmt.Println(<-got)
	_ = s.Send(ctx, frame.Header{}, []byte("quit"))
	<-c.Closed() // the server hung up
	fmt.Println("closed:", c.Err())
	s.Close()
	// Output:
	// you said: hello
	// closed: socket: connection closed: EOF
}

// The batch API on both sides: a server whose BatchReactor answers a whole
// read batch with Batch.Reply, and a client that frames three messages
// into a SendBatch and queues them with one Send.
func ExampleBatchFunc() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ln, _ := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	go func() {
		_ = socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
				// Each m.Payload, and b, are valid until OnBatch returns.
				for m, ok := b.Next(); ok; m, ok = b.Next() {
					if err := b.Reply(m.Header, m.Payload); err != nil {
						return socket.Disconnect
					}
				}
				return socket.Continue // the replies go out in one write
			})
		}, socket.Options{})
	}()
	got := make(chan string, 3)
	c, _ := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		for m, ok := b.Next(); ok; m, ok = b.Next() {
			got <- string(m.Payload)
		}
		return socket.Continue
	}), socket.Options{})
	s := c.NewSender(nil)
	sb := s.Batch()
	for _, msg := range []string{"one", "two", "three"} {
		_ = sb.Append(frame.Header{}, []byte(msg)) // framed now, queued by Send
	}
	if err := sb.Send(ctx); err != nil {
		panic(err)
	}
	for range 3 {
		fmt.Println(<-got)
	}
	s.Close()
	_ = c.Close()
	// Output:
	// one
	// two
	// three
}

// A large payload lent by reference: the connection writes it from the
// caller's memory, and Wait hands it back once it is written.
func ExampleSender_SendRef() {
	ctx, stop := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	if err != nil {
		panic(err)
	}
	got := make(chan string, 1)
	served := make(chan error)
	go func() {
		served <- socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
				got <- fmt.Sprintf("%d bytes, starting %q", len(m.Payload), m.Payload[:6])
				return socket.Continue
			})
		}, socket.Options{})
	}()
	client, err := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.ReactorFunc(
		func(*socket.Conn, socket.Message) socket.Action { return socket.Continue }), socket.Options{})
	if err != nil {
		panic(err)
	}
	s := client.NewSender(nil)
	var ref socket.Ref // reusable, one message at a time
	body := make([]byte, 1<<20)
	if err := s.SendRef(ctx, frame.Header{Stream: 1}, &ref, []byte("head:"), body); err != nil {
		panic(err)
	}
	// body belongs to the connection until Wait returns (or Withdraw
	// reports true): leave it unchanged.
	if err := ref.Wait(ctx); err != nil {
		panic(err)
	}
	body[0] = 1 // ours again
	fmt.Println(<-got)
	s.Close()
	_ = client.Drain(ctx)
	stop()
	fmt.Println("serve:", <-served)
	// Output:
	// 1048581 bytes, starting "head:\x00"
	// serve: <nil>
}

// A reply whose payload is appended straight into the batch's reply
// buffer (here: the request, upper-cased, with a suffix), no copy.
func ExampleBatch_ReplyAppend() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ln, _ := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	go func() {
		_ = socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
				for m, ok := b.Next(); ok; m, ok = b.Next() {
					err := b.ReplyAppend(m.Header, func(dst []byte) []byte {
						for _, ch := range m.Payload { // dst is valid only in here
							dst = append(dst, ch-'a'+'A')
						}
						return append(dst, '!')
					})
					if err != nil {
						return socket.Disconnect
					}
				}
				return socket.Continue
			})
		}, socket.Options{})
	}()
	got := make(chan string, 1)
	c, _ := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
		got <- string(m.Payload)
		return socket.Continue
	}), socket.Options{})
	s := c.NewSender(nil)
	if err := s.Send(ctx, frame.Header{}, []byte("hello")); err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	s.Close()
	_ = c.Close()
	// Output:
	// HELLO!
}
