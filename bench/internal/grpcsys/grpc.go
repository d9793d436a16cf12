package grpcsys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

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

// msg is the client's message type (and the server's with the V1
// codecs): the payload bytes. copy asks Marshal for a copy of b: a
// stream's SendMsg returns before grpc-go wrote the bytes, and the load
// loop rewrites its buffer (the time stamp) right after; a unary Invoke
// returns only after the response arrived, which is after the request
// was written, so its request travels uncopied. wire is the CodecV2 form
// of an uncopied b, made once per request buffer (caller.Call) instead of
// once per call.
type msg struct {
	b    []byte
	copy bool
	wire mem.BufferSlice
}

// echo is the server's message with CodecV2: the received buffers
// themselves, referenced by Unmarshal and handed back to grpc-go by
// Marshal (which frees them once written), so the server echoes without
// copying, as a grpc-go service written against CodecV2 can.
type echo struct{ data mem.BufferSlice }

// payload returns the bytes of a received echo; the bytes of a
// multi-buffer message are joined into a new slice.
func (e *echo) payload() []byte {
	if len(e.data) == 1 {
		return e.data[0].ReadOnlyData()
	}
	return e.data.Materialize()
}

// codec passes msg bodies through as they are (encoding.Codec, bridged
// by grpc-go to CodecV2: CodecBytes and CodecSubtype).
type codec struct{ name string }

// codecBytesName is the name (content-subtype) of codec under
// CodecBytes; codecSubtypeName is the registered one of CodecSubtype.
const (
	codecBytesName   = "psbench-bytes"
	codecSubtypeName = "psbench-raw"
)

func init() { encoding.RegisterCodec(codec{name: codecSubtypeName}) }

func (c codec) Name() string { return c.name }

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

// codecV2 is the CodecV2 of CodecBuffers: no bridge made per call, no
// Materialize (a fresh slice per received message), a request's wire
// form cached in its msg, and the server's echo sent from the buffers it
// received.
type codecV2 struct{}

func (codecV2) Name() string { return "psbench-buffers" }

func (codecV2) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *msg:
		if m.copy { // a stream message: grpc-go frees the pooled copy once written
			return mem.BufferSlice{mem.Copy(m.b, mem.DefaultBufferPool())}, nil
		}
		if m.wire == nil {
			return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
		}
		return m.wire, nil // SliceBuffer: Ref and Free do nothing, reuse is safe
	case *echo:
		out := m.data // our reference passes to grpc-go, which frees it
		m.data = nil
		return out, nil
	}
	return nil, fmt.Errorf("grpcsys: cannot marshal %T", v)
}

func (codecV2) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *msg:
		n := data.Len()
		if cap(m.b) < n {
			m.b = make([]byte, n)
		}
		m.b = m.b[:n]
		data.CopyTo(m.b) // data is freed when Unmarshal returns
		return nil
	case *echo:
		m.data.Free() // a message received and not sent back
		data.Ref()
		m.data = data
		return nil
	}
	return fmt.Errorf("grpcsys: cannot unmarshal into %T", v)
}

// newMsg returns the server's message for the codec in use.
func newMsg(v2 bool) any {
	if v2 {
		return new(echo)
	}
	return new(msg)
}

// serviceDesc is the service for the codec in use (v2: CodecBuffers).
func serviceDesc(v2 bool) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Unary",
			Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				m := newMsg(v2)
				if err := dec(m); err != nil {
					return nil, err
				}
				return m, nil
			},
		}},
		Streams: []grpc.StreamDesc{
			{StreamName: "Bidi", ServerStreams: true, ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
				m := newMsg(v2)
				if mm, ok := m.(*msg); ok {
					mm.copy = true // reused: SendMsg may return before the bytes are written
				}
				for {
					if err := ss.RecvMsg(m); err != nil {
						return nil // client finished or went away
					}
					if err := ss.SendMsg(m); err != nil {
						return err
					}
				}
			}},
			{StreamName: "Stream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
				req := newMsg(v2)
				if err := ss.RecvMsg(req); err != nil {
					return err
				}
				var p []byte
				switch r := req.(type) {
				case *msg:
					p = r.b
				case *echo:
					p = slices.Clone(r.payload())
					r.data.Free()
				}
				if len(p) < load.StampSize {
					return fmt.Errorf("grpcsys: stream request of %d bytes, need %d", len(p), load.StampSize)
				}
				m := msg{b: p, copy: true} // reused: SendMsg may return before the bytes are written
				for {
					load.StampWall(m.b)
					if err := ss.SendMsg(&m); err != nil {
						return nil // client went away
					}
				}
			}},
		},
	}
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
	gs.RegisterService(serviceDesc(s.Options.Codec == CodecBuffers), struct{}{})
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
	c := &client{opts: opts, o: s.Options}
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
	opts  load.Options
	o     Options
	conns []*grpc.ClientConn

	// SharedContext: one context for every caller of a run.
	mu     sync.Mutex
	shared runContext
}

// runContext is a context of its own derived from context.Background
// (no deadline), canceled when run, the context the load loop passes,
// ends: one context.AfterFunc per run, none per call.
type runContext struct {
	run    context.Context
	own    context.Context
	cancel context.CancelFunc
	unlink func() bool
}

// follow makes rc a context canceled with run (if it is not already).
func (rc *runContext) follow(run context.Context) context.Context {
	if rc.run != run {
		rc.release()
		rc.run = run
		rc.own, rc.cancel = context.WithCancel(context.Background())
		rc.unlink = context.AfterFunc(run, rc.cancel)
	}
	return rc.own
}

func (rc *runContext) release() {
	if rc.cancel != nil {
		rc.unlink()
		rc.cancel()
		*rc = runContext{}
	}
}

// sharedContext returns the context every caller of run shares.
func (c *client) sharedContext(run context.Context) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shared.follow(run)
}

func (c *client) Close() error {
	c.mu.Lock()
	c.shared.release()
	c.mu.Unlock()
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

func (c *client) NewCaller(i int) (load.Caller, error) {
	// The response buffer is the caller's, made before the measured
	// window (load.Caller): Unmarshal copies into it without growing it.
	return &caller{cl: c, cc: c.conns[i%len(c.conns)], mode: c.o.CallContext, fresh: c.o.FreshResponse,
		v2: c.o.Codec == CodecBuffers, resp: msg{b: make([]byte, 0, c.opts.Payload)}}, nil
}

type caller struct {
	cl        *client
	cc        *grpc.ClientConn
	mode      CallContext
	fresh, v2 bool
	req, resp msg
	last      []byte // the last response's bytes (tests)

	// CallerContext: this caller's own context; SharedContext: the
	// client's, remembered for the run it follows.
	own       runContext
	sharedRun context.Context
	shared    context.Context
}

func (c *caller) Call(ctx context.Context, req []byte) error {
	if c.v2 && (len(req) == 0 || len(c.req.b) != len(req) || &c.req.b[0] != &req[0]) {
		c.req.wire = mem.BufferSlice{mem.SliceBuffer(req)} // once per request buffer
	}
	c.req.b = req
	callCtx := ctx
	switch c.mode {
	case CallerContext:
		callCtx = c.own.follow(ctx)
	case SharedContext:
		if ctx != c.sharedRun {
			c.sharedRun, c.shared = ctx, c.cl.sharedContext(ctx)
		}
		callCtx = c.shared
	case BackgroundContext:
		callCtx = context.Background()
	}
	resp := &c.resp
	if c.fresh {
		resp = new(msg) // FreshResponse: the harness's allocation per call
	}
	err := c.cc.Invoke(callCtx, methodUnary, &c.req, resp)
	c.last = resp.b
	if err == nil && len(resp.b) != len(req) {
		return fmt.Errorf("grpcsys: response of %d bytes for a request of %d", len(resp.b), len(req))
	}
	return err
}

func (c *caller) Close() error {
	c.own.release()
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
