package typedsys

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/typedsys/echopb"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// ErrUnsupported is OpenStream's error: only the Unary scenario exists.
var ErrUnsupported = errors.New("typedsys: only the unary scenario is served")

// System is the typed echo as a load.System.
type System struct {
	// Server and Client options; zero values work (as rpcbench's).
	Server rpc.ServerOptions
	Client rpc.ClientOptions
}

// New returns the System with the options of psbench's "protosocket"
// system (bench/rpcbench.New): ServerOptions.ReuseContexts, the server's
// zero-allocation mode (the echo handler never keeps its ctx).
func New() load.System { return System{Server: rpc.ServerOptions{ReuseContexts: true}} }

// Name implements load.System.
func (System) Name() string { return "typed" }

// Description is the system's line in psbench's legend.
func (System) Description() string {
	return "socket/rpc through codecgen's generated typed stubs (flyweight views and builders, type-id checks), unary only"
}

// echo implements echopb.EchoServer.
type echo struct{}

func (echo) Echo(_ context.Context, req echopb.Payload, resp *echopb.PayloadBuilder) error {
	resp.SetData(req.Data())
	return nil
}

// Serve implements load.System.
func (s System) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	srv, err := rpc.NewServer(s.Server)
	if err != nil {
		return nil, err
	}
	echopb.RegisterEcho(srv, echo{}, rpc.Inline)
	ln, err := socket.Listen(ctx, "tcp", addr, s.Server.Socket)
	if err != nil {
		return nil, err
	}
	sv := &server{srv: srv, addr: ln.Addr().String()}
	sv.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	return sv, nil
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
	c := &client{}
	for range max(opts.Conns, 1) {
		cl, err := rpc.Dial(ctx, "tcp", addr, s.Client)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cl)
	}
	return c, nil
}

type client struct{ conns []*rpc.Client }

func (c *client) Close() error {
	var errs []error
	for _, cl := range c.conns {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

// NewCaller implements load.Client: one generated EchoClient per caller
// (a typed client is per goroutine).
func (c *client) NewCaller(i int) (load.Caller, error) {
	return &caller{c: echopb.NewEchoClient(c.conns[i%len(c.conns)])}, nil
}

func (c *client) OpenStream(context.Context, int) (load.Stream, error) {
	return nil, ErrUnsupported
}

type caller struct{ c *echopb.EchoClient }

func (k *caller) Call(ctx context.Context, p []byte) error {
	r, err := k.c.Echo(ctx, k.c.BeginEcho().SetData(p))
	if err != nil {
		return err
	}
	if n := len(r.Data()); n != len(p) {
		return fmt.Errorf("typedsys: response of %d bytes for a request of %d", n, len(p))
	}
	return nil
}

func (k *caller) Close() error { return nil }
