package compatsys

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/compatsys/benchpb"
	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// System is socket/rpc/compat as a load.System.
type System struct {
	// Pooled runs the server's unary handler on its workers instead of
	// Inline on the connection's reader.
	Pooled bool
	// Server and Client options (Mode is set from Pooled; Framing is
	// codec/protobuf's).
	Server, Client compat.Options
}

// New returns the System with default options (an Inline server).
func New() load.System { return System{} }

// Name implements load.System.
func (System) Name() string { return "compat" }

type codec = protobuf.Compat[benchpb.Msg, *benchpb.Msg]

func codecs() *codec {
	c, err := protobuf.NewCompat[benchpb.Msg](0, 0)
	if err != nil {
		panic(err) // request_id and code are fields 1 and 2
	}
	return c
}

// Serve implements load.System.
func (s System) Serve(ctx context.Context, addr string, opts load.Options) (load.Server, error) {
	so := s.Server
	so.Mode = compat.Inline
	if s.Pooled {
		so.Mode = compat.Pooled
	}
	c := codecs()
	srv := compat.NewServer(c, c, func(_ context.Context, req, resp *benchpb.Msg) error {
		resp.Payload = req.Payload // encoded before req is reused
		return nil
	}, so)
	srv.HandleStream(func(req *benchpb.Msg) bool { return req.Push }, push)
	ln, err := socket.Listen(ctx, "tcp", addr, so.Socket)
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	sv := &server{addr: ln.Addr().String(), stop: stop}
	sv.wg.Go(func() { _ = srv.Serve(sctx, ln) })
	return sv, nil
}

// push serves the ServerStream scenario: payloads of the request's
// payload size, stamped, until the client cancels.
func push(ctx context.Context, req *benchpb.Msg, s *compat.ServerStream[benchpb.Msg, benchpb.Msg]) error {
	item := &benchpb.Msg{Payload: make([]byte, max(len(req.Payload), load.StampSize))}
	for {
		load.StampWall(item.Payload)
		if err := s.Send(item); err != nil {
			return nil // canceled: the client is done
		}
	}
}

type server struct {
	addr string
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func (s *server) Addr() string { return s.addr }

func (s *server) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
}

// Dial implements load.System: opts.Conns compat clients (Unary,
// ServerStream); the pipelined scenarios open their own connection per
// stream.
func (s System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{addr: addr, opts: s.Client, scenario: opts.Scenario, payload: opts.Payload, window: opts.Concurrency}
	c.ctx, c.stop = context.WithCancel(context.Background())
	cd := codecs()
	for range max(opts.Conns, 1) {
		cl, err := compat.Dial(ctx, "tcp", addr, cd, cd, s.Client)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cl)
	}
	return c, nil
}

type client struct {
	addr     string
	opts     compat.Options
	scenario load.Scenario
	payload  int
	window   int
	ctx      context.Context
	stop     context.CancelFunc
	conns    []*compat.Client[benchpb.Msg, benchpb.Msg]

	mu      sync.Mutex
	streams []*pipe
}

func (c *client) Close() error {
	c.stop()
	c.mu.Lock()
	streams := c.streams
	c.streams = nil
	c.mu.Unlock()
	var errs []error
	for _, p := range streams {
		errs = append(errs, p.Close())
	}
	for _, cl := range c.conns {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

// NewCaller implements load.Client.
func (c *client) NewCaller(i int) (load.Caller, error) {
	return &caller{cl: c.conns[i%len(c.conns)]}, nil
}

type caller struct {
	cl   *compat.Client[benchpb.Msg, benchpb.Msg]
	req  benchpb.Msg
	resp benchpb.Msg
}

func (k *caller) Call(ctx context.Context, req []byte) error {
	k.req.Payload = req // encoded before Call returns
	err := k.cl.Call(ctx, &k.req, &k.resp)
	k.req.Payload = nil
	if err == nil && len(k.resp.Payload) != len(req) {
		return fmt.Errorf("compatsys: response of %d bytes for a request of %d", len(k.resp.Payload), len(req))
	}
	return err
}

func (k *caller) Close() error { return nil }

// OpenStream implements load.Client.
func (c *client) OpenStream(ctx context.Context, i int) (load.Stream, error) {
	if c.scenario == load.ServerStream {
		st, err := c.conns[i%len(c.conns)].Stream(ctx, &benchpb.Msg{Push: true, Payload: make([]byte, c.payload)})
		if err != nil {
			return nil, err
		}
		return &pushStream{st: st}, nil
	}
	p, err := dialPipe(ctx, c.addr, c.opts, c.window)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.streams = append(c.streams, p)
	c.mu.Unlock()
	return p, nil
}

// pushStream is the client end of the ServerStream scenario.
type pushStream struct {
	st   *compat.ClientStream[benchpb.Msg, benchpb.Msg]
	once sync.Once
}

func (s *pushStream) Send([]byte) error {
	return errors.New("compatsys: the server-stream scenario only receives")
}
func (s *pushStream) Flush() error { return nil }
func (s *pushStream) Recv() ([]byte, error) {
	m, err := s.st.Recv()
	if err != nil {
		return nil, err
	}
	return m.Payload, nil
}
func (s *pushStream) Close() error {
	s.once.Do(func() { _ = s.st.Close() })
	return nil
}
