package balance_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
	"github.com/protosocket-go/protosocket/socket/rpc/health"
)

// A pool that follows a DNS name and skips backends whose health service
// says they are not serving. Here the name is an IP address (no lookup);
// in production it is "backend.ns.svc.cluster.local.:7000" or an SRV name.
func ExampleNewDNS() {
	srv, _ := rpc.NewServer(rpc.ServerOptions{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, "pong"...), nil }, rpc.Inline)
	hs := health.NewServer()
	hs.Register(srv)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { hs.Close(); _ = srv.Close(); <-done }()

	dns, err := balance.NewDNS(ln.Addr().String(), balance.DNSOptions{})
	if err != nil {
		panic(err)
	}
	hc, _ := balance.NewHealthChecked(dns, balance.HealthOptions{})
	defer hc.Close() // after the pool
	p, _ := balance.New(context.Background(), hc, balance.Options{
		Refresh: time.Second, // how soon a health change or a new answer is followed
		Client:  rpc.ClientOptions{Interceptor: dns.Interceptor()},
	})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.WaitReady(ctx)
	resp, err := p.Call(ctx, 1, []byte("ping"), nil)
	fmt.Println(string(resp), err)
	// Output: pong <nil>
}
