// Command lineserver is a line-oriented protosocket server (frame.Lines
// framing) you can talk to with nc:
//
//	go run ./examples/lineserver -addr 127.0.0.1:7878
//	nc 127.0.0.1 7878
//
// Each line gets one reply line: "upper TEXT" answers TEXT in capitals,
// "count" the number of lines received on the connection, "quit" closes
// it (after the reply "bye"), and anything else is echoed as "echo: LINE". Lines longer than
// -max bytes close the connection. With -demo it serves on a free port,
// runs a client against itself, prints the replies and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7878", "address to listen on (loopback)")
	maxLine := flag.Int("max", 4096, "longest line accepted, in bytes")
	demo := flag.Bool("demo", false, "serve on a free port, run a client against it, print what it got and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *demo {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = runDemo(ctx, os.Stdout, *maxLine)
	} else {
		err = serve(ctx, os.Stdout, *addr, *maxLine, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lineserver:", err)
		os.Exit(1)
	}
}

// options are the socket options of both ends: newline framing.
func options(maxLine int) socket.Options {
	return socket.Options{Framing: frame.Lines, MaxFrameSize: maxLine}
}

// serve listens on addr and serves until ctx ends; ready, if not nil,
// receives the listening address.
func serve(ctx context.Context, out io.Writer, addr string, maxLine int, ready chan<- string) error {
	opts := options(maxLine)
	ln, err := socket.Listen(ctx, "tcp", addr, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on %s (try: nc %s)\n", ln.Addr(), hostPort(ln.Addr().String()))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor { return &session{} }, opts)
}

// hostPort turns "127.0.0.1:7878" into "127.0.0.1 7878" for nc.
func hostPort(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i] + " " + addr[i+1:]
		}
	}
	return addr
}

// drainTimeout bounds the flush of the replies before a "quit" closes.
const drainTimeout = 5 * time.Second

// session is the reactor of one connection: a line counter and a reply
// buffer reused for every line.
type session struct {
	lines int
	buf   []byte
}

// OnMessage answers one line. m.Payload (the line without its "\n" or
// "\r\n") is valid only until OnMessage returns; Reply copies the reply.
func (s *session) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	s.lines++
	line := m.Payload
	b := s.buf[:0]
	switch {
	case string(line) == "quit":
		// Returning Disconnect would close at once and drop the replies
		// still queued; Drain writes them (and "bye") first. It must not
		// run on the reader goroutine, which it waits for.
		if c.Reply(frame.Header{}, []byte("bye")) != nil {
			return socket.Disconnect
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
			defer cancel()
			_ = c.Drain(ctx)
		}()
		return socket.Continue
	case string(line) == "count":
		b = strconv.AppendInt(b, int64(s.lines), 10)
	case len(line) >= 6 && string(line[:6]) == "upper ":
		for _, ch := range line[6:] {
			if 'a' <= ch && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			b = append(b, ch)
		}
	default:
		b = append(append(b, "echo: "...), line...)
	}
	s.buf = b
	if c.Reply(frame.Header{}, b) != nil {
		return socket.Disconnect
	}
	return socket.Continue
}

// errNoClose: the demo server did not close the connection after "quit".
var errNoClose = errors.New("lineserver: server did not close the connection")

// runDemo serves on a free loopback port, sends a few lines from a
// client, prints each reply and returns them.
func runDemo(ctx context.Context, out io.Writer, maxLine int) ([]string, error) {
	sctx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serve(sctx, io.Discard, "127.0.0.1:0", maxLine, ready) }()
	defer func() { stop(); <-served }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		return nil, err
	}

	replies := make(chan string, 8)
	c, err := socket.Dial(ctx, "tcp", addr, socket.ReactorFunc(func(_ *socket.Conn, m socket.Message) socket.Action {
		replies <- string(m.Payload) // copy: the payload is only valid in here
		return socket.Continue
	}), options(maxLine))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()

	var got []string
	for _, line := range []string{"hello", "upper protosocket", "count"} {
		fmt.Fprintf(out, "> %s\n", line)
		if err := s.Send(ctx, frame.Header{}, []byte(line)); err != nil {
			return got, err
		}
		select {
		case r := <-replies:
			fmt.Fprintf(out, "< %s\n", r)
			got = append(got, r)
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
	fmt.Fprintln(out, "> quit")
	if err := s.Send(ctx, frame.Header{}, []byte("quit")); err != nil {
		return got, err
	}
	select {
	case r := <-replies:
		fmt.Fprintf(out, "< %s\n", r)
		got = append(got, r)
	case <-ctx.Done():
		return got, ctx.Err()
	}
	select {
	case <-c.Closed():
		fmt.Fprintln(out, "server closed the connection")
	case <-ctx.Done():
		return got, errNoClose
	}
	return got, nil
}
