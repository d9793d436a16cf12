package balance_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

// server answers method 1 with its name; method 2 blocks until release.
type server struct {
	srv     *rpc.Server
	addr    string
	release chan struct{}
	entered chan struct{}
	wg      sync.WaitGroup
}

func startServer(t *testing.T, name, addr string) *server {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	s := &server{srv: srv, release: make(chan struct{}), entered: make(chan struct{}, 100)}
	srv.Handle(1, func(_ context.Context, _, dst []byte) ([]byte, error) { return append(dst, name...), nil }, rpc.Inline)
	srv.Handle(2, func(ctx context.Context, _, dst []byte) ([]byte, error) {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
		}
		return append(dst, name...), nil
	}, rpc.Pooled)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	require.Eventually(t, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }, 5*time.Second, 10*time.Millisecond)
	s.addr = ln.Addr().String()
	s.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
	_ = s.srv.Close()
	s.wg.Wait()
}

func newPool(t *testing.T, addrs []string, opts balance.Options) *balance.Pool {
	t.Helper()
	p, err := balance.New(context.Background(), balance.Static(addrs), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.WaitReady(ctx))
	return p
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPowerOfTwoPrefersIdle(t *testing.T) {
	a := startServer(t, "a", "")
	b := startServer(t, "b", "")
	p := newPool(t, []string{a.addr, b.addr}, balance.Options{ConnsPerAddr: 1})
	require.Eventually(t, func() bool {
		// both members up
		seen := map[string]bool{}
		for range 50 {
			got, err := p.Call(ctx10(t), 1, nil, nil)
			if err == nil {
				seen[string(got)] = true
			}
		}
		return seen["a"] && seen["b"]
	}, 10*time.Second, 10*time.Millisecond, "calls spread over both servers")
	// Load one connection with blocked calls: picks go to the other.
	var wg sync.WaitGroup
	busy, err := p.PickKey(0)
	require.NoError(t, err)
	for range 5 {
		wg.Go(func() { _, _ = busy.Call(context.Background(), 2, nil, nil) })
	}
	require.Eventually(t, func() bool { return busy.Outstanding() == 5 }, 10*time.Second, time.Millisecond)
	for range 100 {
		c, err := p.Pick()
		require.NoError(t, err)
		require.NotSame(t, busy, c, "power of two choices picks the connection with fewer outstanding calls")
	}
	close(a.release)
	close(b.release)
	wg.Wait()
}

func TestKeyAffinity(t *testing.T) {
	a := startServer(t, "a", "")
	b := startServer(t, "b", "")
	p := newPool(t, []string{a.addr, b.addr}, balance.Options{ConnsPerAddr: 2})
	// Wait until all four connections are up: while a key's own
	// connection is still dialing, PickKey falls back to the next usable
	// one, so the same key picked twice across its dial's end would
	// rightly land on two connections. The 64 keys' homes cover all four
	// members (jump hash), so four distinct picks mean every one is up.
	require.Eventually(t, func() bool {
		seen := map[*rpc.Client]bool{}
		for k := range uint64(64) {
			c, err := p.PickKey(k)
			if err != nil {
				return false
			}
			seen[c] = true
		}
		return len(seen) == 4
	}, 10*time.Second, time.Millisecond, "all four connections up")
	for k := range uint64(64) {
		c1, err := p.PickKey(k)
		require.NoError(t, err)
		c2, err := p.PickKey(k)
		require.NoError(t, err)
		assert.Same(t, c1, c2, "same key, same connection")
	}
}

func TestDrainAware(t *testing.T) {
	a := startServer(t, "a", "")
	b := startServer(t, "b", "")
	p := newPool(t, []string{a.addr, b.addr}, balance.Options{ConnsPerAddr: 1})
	pickServer(t, p, "b") // both connections are up
	// Keep a call in flight on a so its drain lingers.
	ca := pickServer(t, p, "a")
	go func() { _, _ = ca.Call(context.Background(), 2, nil, nil) }()
	<-a.entered
	drained := make(chan error, 1)
	go func() { drained <- a.srv.Drain(ctx10(t)) }()
	require.Eventually(t, ca.Draining, 10*time.Second, time.Millisecond)
	for range 100 {
		got, err := p.Call(ctx10(t), 1, nil, nil)
		require.NoError(t, err)
		require.Equal(t, "b", string(got), "a draining connection is not picked")
	}
	close(a.release)
	require.NoError(t, <-drained)
}

func pickServer(t *testing.T, p *balance.Pool, name string) *rpc.Client {
	t.Helper()
	for range 5000 { // members may still be dialing
		c, err := p.Pick()
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		got, err := c.Call(ctx10(t), 1, nil, nil)
		if err == nil && string(got) == name {
			return c
		}
	}
	t.Fatalf("no connection to %s", name)
	return nil
}

func TestReconnect(t *testing.T) {
	a := startServer(t, "a", "")
	addr := a.addr
	p := newPool(t, []string{addr}, balance.Options{ConnsPerAddr: 1, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	got, err := p.Call(ctx10(t), 1, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "a", string(got))
	a.stop()
	require.Eventually(t, func() bool { _, err := p.Pick(); return err != nil }, 10*time.Second, time.Millisecond, "the dead connection is not picked")
	startServer(t, "a2", addr) // same address, new server
	require.Eventually(t, func() bool {
		got, err := p.Call(ctx10(t), 1, nil, nil)
		return err == nil && string(got) == "a2"
	}, 10*time.Second, 5*time.Millisecond, "the pool reconnected")
	assert.GreaterOrEqual(t, p.Dials(), uint64(2))
}

func TestKeepAliveClosesSilentPeer(t *testing.T) {
	// A peer that accepts but never answers: the ping times out and the
	// pool redials.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	accepted := make(chan struct{}, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted <- struct{}{}
		}
	})
	defer func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	p, err := balance.New(context.Background(), balance.Static{ln.Addr().String()}, balance.Options{
		ConnsPerAddr: 1, KeepAlive: 20 * time.Millisecond, PingTimeout: 20 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	for range 3 {
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("the pool did not redial after an unanswered ping")
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []balance.Options{{ConnsPerAddr: -1}, {PingTimeout: -1}, {MinBackoff: time.Second, MaxBackoff: time.Millisecond}, {Refresh: -1}} {
		_, err := balance.New(context.Background(), balance.Static{"127.0.0.1:1"}, o)
		require.ErrorIs(t, err, balance.ErrInvalidOptions)
	}
}

func TestResolverUpdates(t *testing.T) {
	a := startServer(t, "a", "")
	b := startServer(t, "b", "")
	r := &switchable{addrs: []string{a.addr}}
	p, err := balance.New(context.Background(), r, balance.Options{ConnsPerAddr: 1, Refresh: 10 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	r.set([]string{b.addr})
	require.Eventually(t, func() bool {
		got, err := p.Call(ctx10(t), 1, nil, nil)
		return err == nil && string(got) == "b"
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{b.addr}, p.Addrs())
}

type switchable struct {
	mu    sync.Mutex
	addrs []string
}

func (s *switchable) set(a []string) { s.mu.Lock(); s.addrs = a; s.mu.Unlock() }

func (s *switchable) Resolve(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs, nil
}
