package grpcsys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

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

// msg is the message type of every method: the payload bytes.
type msg struct{ b []byte }

// codec passes msg bodies through as they are.
type codec struct{}

func (codec) Name() string { return "psbench-bytes" }

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*msg)
	if !ok {
		return nil, fmt.Errorf("grpcsys: cannot marshal %T", v)
	}
	// grpc-go may write the bytes after SendMsg returned, while the load
	// loop reuses its buffer: hand it a copy, as a proto codec would.
	return append([]byte(nil), m.b...), nil
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
			var m msg
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
			var m msg
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

// System is grpc-go. The zero value is ready to use.
type System struct{}

// New returns the grpc System.
func New() load.System { return System{} }

// Name returns "grpc".
func (System) Name() string { return "grpc" }

// Serve starts a grpc-go server on addr.
func (System) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("grpcsys: %w", err)
	}
	gs := grpc.NewServer(grpc.ForceServerCodec(codec{}))
	gs.RegisterService(&serviceDesc, struct{}{})
	s := &server{gs: gs, addr: ln.Addr().String()}
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.wg.Go(func() { _ = gs.Serve(ln) })
	return s, nil
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
func (System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{opts: opts}
	for range max(opts.Conns, 1) {
		cc, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{})))
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
	conns []*grpc.ClientConn
}

func (c *client) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

func (c *client) NewCaller(i int) (load.Caller, error) {
	return &caller{cc: c.conns[i%len(c.conns)]}, nil
}

type caller struct {
	cc        *grpc.ClientConn
	req, resp msg
}

func (c *caller) Call(ctx context.Context, req []byte) error {
	c.req.b = req
	return c.cc.Invoke(ctx, methodUnary, &c.req, &c.resp)
}

func (c *caller) Close() error { return nil }

var (
	bidiDesc   = grpc.StreamDesc{StreamName: "Bidi", ServerStreams: true, ClientStreams: true}
	streamDesc = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true}
)

func (c *client) OpenStream(ctx context.Context, i int) (load.Stream, error) {
	cc := c.conns[i%len(c.conns)]
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{cancel: cancel}
	var err error
	if c.opts.Scenario == load.ServerStream {
		s.cs, err = cc.NewStream(ctx, &streamDesc, methodStream)
		if err == nil {
			err = s.cs.SendMsg(&msg{b: make([]byte, c.opts.Payload)})
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
	out    msg
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
