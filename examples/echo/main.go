// Command echo runs a protosocket echo server and a client in one process
// on loopback: the client pipelines -n messages of -size bytes (at most
// -window in flight), checks that each comes back unchanged and in order,
// and prints how many and how fast.
//
//	go run ./examples/echo -n 200000
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

func main() {
	n := flag.Int("n", 100_000, "messages to echo")
	size := flag.Int("size", 16, "payload bytes per message (at least 8)")
	window := flag.Int("window", 256, "messages in flight")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if _, err := run(ctx, os.Stdout, config{n: *n, size: *size, window: *window}); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

type config struct{ n, size, window int }

// result is what run measured.
type result struct {
	Messages int           // messages echoed and checked
	Elapsed  time.Duration // from the first send to the last echo
	PerWrite float64       // client frames per write syscall
}

var errEcho = errors.New("echo: reply does not match")

// run serves, sends cfg.n messages through one connection and waits for
// all echoes, within ctx.
func run(ctx context.Context, out io.Writer, cfg config) (result, error) {
	if cfg.n < 0 || cfg.size < 8 || cfg.window < 1 {
		return result{}, fmt.Errorf("echo: need n >= 0, size >= 8, window >= 1")
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ln, err := socket.Listen(sctx, "tcp", "127.0.0.1:0", socket.Options{})
	if err != nil {
		return result{}, err
	}
	served := make(chan error, 1)
	go func() {
		served <- socket.Serve(sctx, ln, func(*socket.Conn) socket.Reactor {
			return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
				if c.Reply(m.Header, m.Payload) != nil { // Reply copies m.Payload
					return socket.Disconnect
				}
				return socket.Continue
			})
		}, socket.Options{})
	}()
	defer func() { stop(); <-served }()

	// The client's reactor checks each echo's sequence number and frees a
	// window slot.
	slots := make(chan struct{}, cfg.window)
	done := make(chan struct{})
	var got int
	var bad error
	client, err := socket.Dial(ctx, "tcp", ln.Addr().String(), socket.ReactorFunc(
		func(_ *socket.Conn, m socket.Message) socket.Action {
			if len(m.Payload) != cfg.size || binary.LittleEndian.Uint64(m.Payload) != uint64(got) {
				bad = fmt.Errorf("%w: message %d", errEcho, got)
				close(done)
				return socket.Disconnect
			}
			got++
			<-slots
			if got == cfg.n {
				close(done)
			}
			return socket.Continue
		}), socket.Options{})
	if err != nil {
		return result{}, err
	}
	defer client.Close()

	s := client.NewSender(nil)
	defer s.Close()
	p := make([]byte, cfg.size)
	begin := time.Now()
	for i := range cfg.n {
		select {
		case slots <- struct{}{}:
		case <-done:
			return result{}, bad
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
		binary.LittleEndian.PutUint64(p, uint64(i))
		if err := s.Send(ctx, frame.Header{}, p); err != nil { // Send copies p
			return result{}, err
		}
	}
	if cfg.n > 0 {
		select {
		case <-done:
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
	}
	if bad != nil {
		return result{}, bad
	}
	res := result{Messages: got, Elapsed: time.Since(begin), PerWrite: client.Stats().FramesPerWrite()}
	fmt.Fprintf(out, "echoed %d messages of %d bytes in %v: %.0f msg/s, %.1f frames per write\n",
		res.Messages, cfg.size, res.Elapsed.Round(time.Millisecond), float64(res.Messages)/res.Elapsed.Seconds(), res.PerWrite)
	return res, nil
}
