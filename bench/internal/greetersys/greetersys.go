package greetersys

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
	"github.com/protosocket-go/protosocket/examples/greeter/greeterpb"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// ErrUnsupported is OpenStream's error: only the Unary scenario exists.
var ErrUnsupported = errors.New("greetersys: only the unary scenario (SayHello) is served")

// Systems returns the two systems: greeter-ps and greeter-grpc.
func Systems() []load.System { return []load.System{PS{}, GRPC{}} }

// checkLen verifies the echo.
func checkLen(got, want int) error {
	if got != want {
		return fmt.Errorf("greetersys: reply of %d bytes for a name of %d", got, want)
	}
	return nil
}

// ---- protosocket ----

// PS is the greeter over protosocket with the generated stubs.
type PS struct{}

// Name returns "greeter-ps".
func (PS) Name() string { return "greeter-ps" }

// psServer implements greeterpb.PSGreeterServer.
type psServer struct{}

func (psServer) SayHello(_ context.Context, req *greeterpb.HelloRequest, resp *greeterpb.HelloReply) error {
	resp.Message = req.Name
	return nil
}

func (psServer) SayHelloStream(context.Context, *greeterpb.HelloRequest, *greeterpb.PSGreeter_SayHelloStreamServer) error {
	return rpc.NewError(rpc.CodeUnimplemented, ErrUnsupported.Error())
}

// Serve implements load.System.
func (PS) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	if err != nil {
		return nil, err
	}
	greeterpb.RegisterPSGreeterServer(srv, psServer{}, rpc.Inline)
	ln, err := socket.Listen(ctx, "tcp", addr, socket.Options{})
	if err != nil {
		return nil, err
	}
	s := &psSrv{srv: srv, addr: ln.Addr().String()}
	s.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	return s, nil
}

type psSrv struct {
	srv  *rpc.Server
	addr string
	wg   sync.WaitGroup
}

func (s *psSrv) Addr() string { return s.addr }

func (s *psSrv) Close() error {
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

// Dial implements load.System.
func (PS) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &psClient{}
	for range max(opts.Conns, 1) {
		cl, err := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{})
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cl)
		c.stubs = append(c.stubs, greeterpb.NewPSGreeterClient(cl))
	}
	return c, nil
}

type psClient struct {
	conns []*rpc.Client
	stubs []*greeterpb.PSGreeterClient
}

func (c *psClient) Close() error {
	var errs []error
	for _, cl := range c.conns {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

func (c *psClient) NewCaller(i int) (load.Caller, error) {
	return &psCaller{c: c.stubs[i%len(c.stubs)]}, nil
}

func (c *psClient) OpenStream(context.Context, int) (load.Stream, error) {
	return nil, ErrUnsupported
}

type psCaller struct {
	c   *greeterpb.PSGreeterClient
	req greeterpb.HelloRequest
	out greeterpb.HelloReply
}

func (k *psCaller) Call(ctx context.Context, p []byte) error {
	k.req.Name = string(p)
	if err := k.c.SayHelloInto(ctx, &k.req, &k.out); err != nil {
		return err
	}
	return checkLen(len(k.out.Message), len(p))
}

func (k *psCaller) Close() error { return nil }

// ---- grpc-go ----

// GRPC is the greeter over grpc-go with its default protobuf codec.
type GRPC struct{}

// Name returns "greeter-grpc".
func (GRPC) Name() string { return "greeter-grpc" }

const sayHello = "/greeter.Greeter/SayHello"

// greeterServer is what protoc-gen-go-grpc's GreeterServer would be for
// the unary method.
type greeterServer interface {
	SayHello(context.Context, *greeterpb.HelloRequest) (*greeterpb.HelloReply, error)
}

type grpcServer struct{}

func (grpcServer) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

// serviceDesc is the ServiceDesc protoc-gen-go-grpc generates for
// greeter.Greeter's unary method, handler body and all.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: "greeter.Greeter",
	HandlerType: (*greeterServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "SayHello",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(greeterpb.HelloRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return srv.(greeterServer).SayHello(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: sayHello}
			handler := func(ctx context.Context, req any) (any, error) {
				return srv.(greeterServer).SayHello(ctx, req.(*greeterpb.HelloRequest))
			}
			return interceptor(ctx, in, info, handler)
		},
	}},
	Metadata: "greeter.proto",
}

// Serve implements load.System.
func (GRPC) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("greetersys: %w", err)
	}
	gs := grpc.NewServer()
	gs.RegisterService(&serviceDesc, grpcServer{})
	s := &grpcSrv{gs: gs, addr: ln.Addr().String()}
	s.wg.Go(func() { _ = gs.Serve(ln) })
	return s, nil
}

type grpcSrv struct {
	gs   *grpc.Server
	addr string
	wg   sync.WaitGroup
}

func (s *grpcSrv) Addr() string { return s.addr }

func (s *grpcSrv) Close() error {
	s.gs.Stop()
	s.wg.Wait()
	return nil
}

// Dial implements load.System.
func (GRPC) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &grpcClient{}
	for range max(opts.Conns, 1) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("greetersys: %w", err)
		}
		c.conns = append(c.conns, cc)
		if err := waitReady(ctx, cc); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("greetersys: %s: %w", addr, err)
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

type grpcClient struct {
	conns []*grpc.ClientConn
}

func (c *grpcClient) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

func (c *grpcClient) NewCaller(i int) (load.Caller, error) {
	return &grpcCaller{cc: c.conns[i%len(c.conns)]}, nil
}

func (c *grpcClient) OpenStream(context.Context, int) (load.Stream, error) {
	return nil, ErrUnsupported
}

type grpcCaller struct {
	cc  *grpc.ClientConn
	req greeterpb.HelloRequest
	out greeterpb.HelloReply
}

func (k *grpcCaller) Call(ctx context.Context, p []byte) error {
	k.req.Name = string(p)
	if err := k.cc.Invoke(ctx, sayHello, &k.req, &k.out); err != nil {
		return err
	}
	return checkLen(len(k.out.Message), len(p))
}

func (k *grpcCaller) Close() error { return nil }
