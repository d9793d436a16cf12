package compatsys

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// System is socket/rpc/compat as a load.System.
type System struct {
	// Server options; the zero Mode here means Inline (the handler echoes
	// without blocking, as the native system's unary method runs inline).
	Server compat.Options
	// Pooled runs the server's handler on its workers instead.
	Pooled bool
	// Client options.
	Client compat.Options
}

// New returns the System with default options (an Inline server).
func New() load.System { return System{} }

// Name implements load.System.
func (System) Name() string { return "compat" }

// ErrScenario: the compat system serves the unary scenario only.
var ErrScenario = errors.New("compatsys: only the unary scenario (protoecho's payload is a UTF-8 string)")

// Serve implements load.System.
func (s System) Serve(ctx context.Context, addr string, opts load.Options) (load.Server, error) {
	so := s.Server
	so.Mode = compat.Inline
	if s.Pooled {
		so.Mode = compat.Pooled
	}
	reqc, respc := echo.Codecs()
	srv := compat.NewServer(reqc, respc, func(_ context.Context, req *echo.EchoRequest, resp *echo.EchoResponse) error {
		resp.Message = req.Message // encoded before req is reused
		return nil
	}, so)
	ln, err := socket.Listen(ctx, "tcp", addr, so.Socket)
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	sv := &server{addr: ln.Addr().String(), stop: stop}
	sv.wg.Go(func() { _ = srv.Serve(sctx, ln) })
	return sv, nil
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

// Dial implements load.System.
func (s System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	if opts.Scenario != load.Unary {
		return nil, fmt.Errorf("%w: %s", ErrScenario, opts.Scenario)
	}
	reqc, respc := echo.Codecs()
	c := &client{}
	for range max(opts.Conns, 1) {
		cl, err := compat.Dial(ctx, "tcp", addr, reqc, respc, s.Client)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cl)
	}
	return c, nil
}

type client struct {
	conns []*compat.Client[echo.EchoRequest, echo.EchoResponse]
}

func (c *client) Close() error {
	var errs []error
	for _, cl := range c.conns {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

// NewCaller implements load.Client.
func (c *client) NewCaller(i int) (load.Caller, error) {
	return &caller{cl: c.conns[i%len(c.conns)]}, nil
}

// OpenStream implements load.Client: not served (see the package doc).
func (c *client) OpenStream(context.Context, int) (load.Stream, error) { return nil, ErrScenario }

type caller struct {
	cl   *compat.Client[echo.EchoRequest, echo.EchoResponse]
	req  echo.EchoRequest
	resp echo.EchoResponse
}

func (k *caller) Call(ctx context.Context, req []byte) error {
	k.req.Message = view(req)
	err := k.cl.Call(ctx, &k.req, &k.resp)
	k.req.Message = ""
	if err == nil && len(k.resp.Message) != len(req) {
		return fmt.Errorf("compatsys: response of %d bytes for a request of %d", len(k.resp.Message), len(req))
	}
	return err
}

func (k *caller) Close() error { return nil }
