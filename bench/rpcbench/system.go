package rpcbench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Methods of the benchmark service.
const (
	MethodUnary  uint32 = 1 // echo, run inline on the connection reader
	MethodBidi   uint32 = 2 // stream echo
	MethodStream uint32 = 3 // server push of stamped payloads
)

// System is socket/rpc as a load.System.
type System struct {
	// Server and Client options; zero values work.
	Server rpc.ServerOptions
	Client rpc.ClientOptions
}

// New returns the System psbench runs: default options but for
// ServerOptions.ReuseContexts, the server's zero-allocation mode (each
// call's handler context is a reused object; the benchmark's handlers keep
// none past their return, which is that option's rule). With the default
// (a fresh context per call, safe to keep) a unary call costs one 24-byte
// allocation and 8-11% more CPU (socket/rpc BenchmarkCall safe vs reuse;
// bench/README.md).
func New() load.System { return System{Server: rpc.ServerOptions{ReuseContexts: true}} }

// Name implements load.System.
func (System) Name() string { return "protosocket" }

// streamWindow is the stream credit window for opts: the default (64)
// unless a stream scenario keeps more messages in flight, which a window
// smaller than the in-flight count would cap (the window is the stream's
// in-flight limit by design). An explicit StreamWindow stays.
func streamWindow(set int, opts load.Options) int {
	if set == 0 && opts.Scenario != load.Unary && opts.Concurrency > rpc.DefaultStreamWindow {
		return opts.Concurrency
	}
	return set
}

// Serve implements load.System.
func (s System) Serve(ctx context.Context, addr string, opts load.Options) (load.Server, error) {
	s.Server.StreamWindow = streamWindow(s.Server.StreamWindow, opts)
	srv, err := rpc.NewServer(s.Server)
	if err != nil {
		return nil, err
	}
	srv.Handle(MethodUnary, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	srv.HandleStream(MethodBidi, EchoStream)
	srv.HandleStream(MethodStream, func(ctx context.Context, st *rpc.ServerStream) error {
		p := make([]byte, max(opts.Payload, load.StampSize))
		for {
			load.StampWall(p)
			if err := st.Send(p); err != nil {
				return nil
			}
		}
	})
	ln, err := socket.Listen(ctx, "tcp", addr, s.Server.Socket)
	if err != nil {
		return nil, err
	}
	sv := &server{srv: srv, addr: ln.Addr().String()}
	sv.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	return sv, nil
}

// EchoStream is the bidi echo as a user writes the fastest one
// (rpc.ExampleServerStream_SendMany): take one message, then every one
// Recv returns without waiting (Buffered), and answer the run with one
// SendMany. Its buffers are reused: nothing is allocated per message.
// socketbench's rpc-stream row serves the same handler.
func EchoStream(_ context.Context, st *rpc.ServerStream) error {
	var (
		buf  []byte
		ends []int
		msgs [][]byte
		err  error
	)
	for {
		if buf, err = st.Recv(buf[:0]); err != nil {
			return nil // the client finished or went away
		}
		ends = append(ends[:0], len(buf))
		for n := st.Buffered(); n > 0; n-- {
			if buf, err = st.Recv(buf); err != nil {
				return nil
			}
			ends = append(ends, len(buf))
		}
		msgs = msgs[:0]
		start := 0
		for _, e := range ends {
			msgs = append(msgs, buf[start:e])
			start = e
		}
		if _, err := st.SendMany(msgs); err != nil {
			return err
		}
	}
}

type server struct {
	srv  *rpc.Server
	addr string
	wg   sync.WaitGroup
}

func (s *server) Addr() string { return s.addr }

func (s *server) Close() error {
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

// Dial implements load.System.
func (s System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	s.Client.StreamWindow = streamWindow(s.Client.StreamWindow, opts)
	n := max(opts.Conns, 1)
	c := &client{scenario: opts.Scenario, payload: opts.Payload}
	for range n {
		cl, err := rpc.Dial(ctx, "tcp", addr, s.Client)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cl)
	}
	return c, nil
}

type client struct {
	conns    []*rpc.Client
	scenario load.Scenario
	payload  int
}

func (c *client) Close() error {
	var errs []error
	for _, cl := range c.conns {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

// NewCaller implements load.Client: one rpc.Caller (own lane, own slot).
func (c *client) NewCaller(i int) (load.Caller, error) {
	k, err := c.conns[i%len(c.conns)].NewCaller()
	if err != nil {
		return nil, err
	}
	// The reply buffer is the caller's, made before the measured window
	// (load.Caller): what a call allocates is then the transport's own.
	return &caller{k: k, dst: make([]byte, 0, c.payload)}, nil
}

type caller struct {
	k   *rpc.Caller
	dst []byte // reused for every reply

	// The caller's own context, as grpcsys gives grpc-go (its best
	// configuration, bench/README "grpc-go at its best"): derived from
	// context.Background, no deadline, canceled (by unlink's AfterFunc)
	// when run, the context the load loop passes, ends. The load loop's
	// context carries the run's deadline, which would make every call
	// send a timeout and the server arm a deadline: work neither system
	// is asked to do.
	run    context.Context
	own    context.Context
	cancel context.CancelFunc
	unlink func() bool
}

func (k *caller) Call(ctx context.Context, req []byte) error {
	if ctx != k.run {
		k.release()
		k.run = ctx
		k.own, k.cancel = context.WithCancel(context.Background())
		k.unlink = context.AfterFunc(ctx, k.cancel)
	}
	var err error
	k.dst, err = k.k.Call(k.own, MethodUnary, req, k.dst[:0])
	if err == nil && len(k.dst) != len(req) {
		return fmt.Errorf("rpcbench: response of %d bytes for a request of %d", len(k.dst), len(req))
	}
	return err
}

func (k *caller) release() {
	if k.cancel != nil {
		k.unlink()
		k.cancel()
		k.run, k.own, k.cancel, k.unlink = nil, nil, nil, nil
	}
}

func (k *caller) Close() error { k.release(); k.k.Close(); return nil }

// OpenStream implements load.Client: Pipelined and Bidi use the echo
// stream, ServerStream the push stream.
func (c *client) OpenStream(ctx context.Context, i int) (load.Stream, error) {
	m := MethodBidi
	if c.scenario == load.ServerStream {
		m = MethodStream
	}
	st, err := c.conns[i%len(c.conns)].OpenStream(ctx, m, nil)
	if err != nil {
		return nil, err
	}
	return &stream{st: st, buf: make([]byte, 0, c.payload)}, nil
}

// stream is the client's side of the echo: Send copies the message into
// a reused arena and Flush sends what is there with one SendMany, as the
// socket system's SendBatch and the raw echo's bufio.Writer coalesce
// until Flush. The load loop flushes before it waits for the window or
// sleeps for a scheduled send, and in open loop behind schedule whenever
// a message has waited load.DefaultOpenLoopMaxHold (2 µs), the same for
// every coalescing system; at most maxPending messages wait for a Flush:
// Send sends them itself beyond that.
type stream struct {
	st    *rpc.ClientStream
	buf   []byte // reused for every message received
	arena []byte
	ends  []int
	msgs  [][]byte
}

// maxPending is the most messages Send keeps for one SendMany.
const maxPending = 256

func (s *stream) Send(p []byte) error {
	s.arena = append(s.arena, p...)
	s.ends = append(s.ends, len(s.arena))
	if len(s.ends) >= maxPending {
		return s.Flush()
	}
	return nil
}

func (s *stream) Flush() error {
	if len(s.ends) == 0 {
		return nil
	}
	s.msgs = s.msgs[:0]
	start := 0
	for _, e := range s.ends {
		s.msgs = append(s.msgs, s.arena[start:e])
		start = e
	}
	n, err := s.st.SendMany(s.msgs)
	clear(s.msgs)
	if err == nil && n != len(s.msgs) {
		err = fmt.Errorf("rpcbench: SendMany queued %d of %d", n, len(s.msgs))
	}
	s.arena, s.ends, s.msgs = s.arena[:0], s.ends[:0], s.msgs[:0]
	return err
}

func (s *stream) Recv() ([]byte, error) {
	var err error
	s.buf, err = s.st.Recv(s.buf[:0])
	return s.buf, err
}
func (s *stream) Close() error { return s.st.Close() }
