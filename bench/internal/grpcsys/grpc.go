package grpcsys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// ErrUnavailable is returned by Dial when no connection to the server
// could be established.
var ErrUnavailable = errors.New("grpcsys: server unavailable")

const (
	service      = "psbench.Echo"
	methodUnary  = "/" + service + "/Unary"
	methodBidi   = "/" + service + "/Bidi"
	methodStream = "/" + service + "/Stream"
)

// msg is the message type of every method: the payload bytes. copy asks
// Marshal for a copy of b: a stream's SendMsg returns before grpc-go wrote
// the bytes, and the load loop rewrites its buffer (the time stamp) right
// after; a unary Invoke returns only after the response arrived, which is
// after the request was written, so its request travels uncopied.
type msg struct {
	b    []byte
	copy bool
}

// codec passes msg bodies through as they are.
type codec struct{}

func (codec) Name() string { return "psbench-bytes" }

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*msg)
	if !ok {
		return nil, fmt.Errorf("grpcsys: cannot marshal %T", v)
	}
	if m.copy {
		return append([]byte(nil), m.b...), nil
	}
	return m.b, nil
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*msg)
	if !ok {
		return fmt.Errorf("grpcsys: cannot unmarshal into %T", v)
	}
	m.b = append(m.b[:0], data...) // data is only valid during the call
	return nil
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Unary",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			m := new(msg)
			if err := dec(m); err != nil {
				return nil, err
			}
			return m, nil
		},
	}},
	Streams: []grpc.StreamDesc{
		{StreamName: "Bidi", ServerStreams: true, ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			m := msg{copy: true} // reused: SendMsg may return before the bytes are written
			for {
				if err := ss.RecvMsg(&m); err != nil {
					return nil // client finished or went away
				}
				if err := ss.SendMsg(&m); err != nil {
					return err
				}
			}
		}},
		{StreamName: "Stream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			m := msg{copy: true} // reused: SendMsg may return before the bytes are written
			if err := ss.RecvMsg(&m); err != nil {
				return err
			}
			if len(m.b) < load.StampSize {
				return fmt.Errorf("grpcsys: stream request of %d bytes, need %d", len(m.b), load.StampSize)
			}
			for {
				load.StampWall(m.b)
				if err := ss.SendMsg(&m); err != nil {
					return nil // client went away
				}
			}
		}},
	},
}

// System is grpc-go. The zero value is grpc-go at its best configuration
// for psbench's scenarios (see Options).
type System struct {
	// Options tune grpc-go; the zero value is the best configuration.
	Options Options
}

// New returns the grpc System at its best configuration.
func New() load.System { return System{} }

// NewWith returns the grpc System with opts (for the benchmark that
// compares configurations).
func NewWith(opts Options) load.System { return System{Options: opts} }

// Name returns "grpc".
func (System) Name() string { return "grpc" }

// Serve starts a grpc-go server on addr.
func (s System) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	if err := s.Options.Validate(); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("grpcsys: %w", err)
	}
	gs := grpc.NewServer(s.Options.serverOptions()...)
	gs.RegisterService(&serviceDesc, struct{}{})
	sv := &server{gs: gs, addr: ln.Addr().String()}
	sv.stop = context.AfterFunc(ctx, func() { _ = sv.Close() })
	sv.wg.Go(func() { _ = gs.Serve(ln) })
	return sv, nil
}

type server struct {
	gs   *grpc.Server
	addr string
	stop func() bool
	wg   sync.WaitGroup
}

func (s *server) Addr() string { return s.addr }

func (s *server) Close() error {
	s.stop()
	s.gs.Stop()
	s.wg.Wait()
	return nil
}

// Dial opens opts.Conns client connections and waits until each is ready
// (or ctx ends, or a connection attempt fails: ErrUnavailable).
func (s System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	if err := s.Options.Validate(); err != nil {
		return nil, err
	}
	c := &client{opts: opts, ctxMode: s.Options.CallContext}
	for range max(opts.Conns, 1) {
		cc, err := grpc.NewClient(addr, s.Options.dialOptions()...)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("grpcsys: %w", err)
		}
		c.conns = append(c.conns, cc)
		if err := waitReady(ctx, cc); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%w at %s: %w", ErrUnavailable, addr, err)
		}
	}
	return c, nil
}

func waitReady(ctx context.Context, cc *grpc.ClientConn) error {
	cc.Connect()
	for {
		st := cc.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return fmt.Errorf("connection %s", st)
		}
		if !cc.WaitForStateChange(ctx, st) {
			return ctx.Err()
		}
	}
}

type client struct {
	opts    load.Options
	ctxMode CallContext
	conns   []*grpc.ClientConn
}

func (c *client) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

func (c *client) NewCaller(i int) (load.Caller, error) {
	// The response buffer is the caller's, made before the measured
	// window (load.Caller): Unmarshal copies into it without growing it.
	return &caller{cc: c.conns[i%len(c.conns)], mode: c.ctxMode, resp: msg{b: make([]byte, 0, c.opts.Payload)}}, nil
}

type caller struct {
	cc        *grpc.ClientConn
	mode      CallContext
	req, resp msg

	// CallerContext: own is this caller's context, canceled (by unlink's
	// AfterFunc) when run, the context the load loop passes, ends.
	run    context.Context
	own    context.Context
	cancel context.CancelFunc
	unlink func() bool
}

func (c *caller) Call(ctx context.Context, req []byte) error {
	c.req.b = req
	callCtx := ctx
	switch c.mode {
	case CallerContext:
		if ctx != c.run {
			c.release()
			c.run = ctx
			c.own, c.cancel = context.WithCancel(context.Background())
			c.unlink = context.AfterFunc(ctx, c.cancel)
		}
		callCtx = c.own
	case BackgroundContext:
		callCtx = context.Background()
	}
	err := c.cc.Invoke(callCtx, methodUnary, &c.req, &c.resp)
	if err == nil && len(c.resp.b) != len(req) {
		return fmt.Errorf("grpcsys: response of %d bytes for a request of %d", len(c.resp.b), len(req))
	}
	return err
}

func (c *caller) release() {
	if c.cancel != nil {
		c.unlink()
		c.cancel()
		c.run, c.own, c.cancel, c.unlink = nil, nil, nil, nil
	}
}

func (c *caller) Close() error {
	c.release()
	return nil
}

var (
	bidiDesc   = grpc.StreamDesc{StreamName: "Bidi", ServerStreams: true, ClientStreams: true}
	streamDesc = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true}
)

func (c *client) OpenStream(ctx context.Context, i int) (load.Stream, error) {
	cc := c.conns[i%len(c.conns)]
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{cancel: cancel, out: msg{copy: true}, in: msg{b: make([]byte, 0, c.opts.Payload)}}
	var err error
	if c.opts.Scenario == load.ServerStream {
		s.cs, err = cc.NewStream(ctx, &streamDesc, methodStream)
		if err == nil {
			err = s.cs.SendMsg(&msg{b: make([]byte, c.opts.Payload), copy: true})
		}
		if err == nil {
			err = s.cs.CloseSend()
		}
	} else {
		s.cs, err = cc.NewStream(ctx, &bidiDesc, methodBidi)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("grpcsys: open stream: %w", err)
	}
	return s, nil
}

type stream struct {
	cs     grpc.ClientStream
	cancel context.CancelFunc
	out    msg // copy: SendMsg may return before grpc-go wrote the bytes
	in     msg
}

func (s *stream) Send(p []byte) error {
	s.out.b = p
	return s.cs.SendMsg(&s.out)
}

// Flush does nothing: grpc-go's transport writer flushes on its own.
func (s *stream) Flush() error { return nil }

func (s *stream) Recv() ([]byte, error) {
	if err := s.cs.RecvMsg(&s.in); err != nil {
		return nil, err
	}
	return s.in.b, nil
}

func (s *stream) Close() error {
	s.cancel()
	return nil
}
