package balance_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
	"github.com/protosocket-go/protosocket/socket/rpc/health"
)

// healthBackend is a loopback server answering method 1 with its name,
// with a health service unless withHealth is false.
type healthBackend struct {
	hs   *health.Server
	srv  *rpc.Server
	addr string
	wg   sync.WaitGroup
	once sync.Once
}

func startHealthBackend(t *testing.T, name string, withHealth bool) *healthBackend {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	b := &healthBackend{srv: srv}
	srv.Handle(1, func(_ context.Context, _, dst []byte) ([]byte, error) { return append(dst, name...), nil }, rpc.Inline)
	if withHealth {
		b.hs = health.NewServer()
		b.hs.Register(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b.addr = ln.Addr().String()
	b.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(b.stop)
	return b
}

func (b *healthBackend) stop() {
	b.once.Do(func() {
		if b.hs != nil {
			b.hs.Close()
		}
		_ = b.srv.Close()
		b.wg.Wait()
	})
}

// spread makes n pool calls and counts the answers per server name.
func spread(t *testing.T, p *balance.Pool, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		got, err := p.Call(ctx10(t), 1, nil, nil)
		if err == nil {
			seen[string(got)]++
		}
	}
	return seen
}

func TestHealthCheckedSkipsUnhealthy(t *testing.T) {
	a := startHealthBackend(t, "a", true)
	b := startHealthBackend(t, "b", true)
	plain := startHealthBackend(t, "plain", false) // no health service: counts as serving
	hc, err := balance.NewHealthChecked(balance.Static{a.addr, b.addr, plain.addr}, balance.HealthOptions{})
	require.NoError(t, err)
	defer hc.Close()
	p, err := balance.New(context.Background(), hc, balance.Options{ConnsPerAddr: 1, Refresh: 10 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx10(t)))
	require.Eventually(t, func() bool {
		s := spread(t, p, 60)
		return s["a"] > 0 && s["b"] > 0 && s["plain"] > 0
	}, 10*time.Second, 10*time.Millisecond, "all three serve")
	st, serving := hc.Status(b.addr)
	assert.Equal(t, health.Serving, st)
	assert.True(t, serving)

	b.hs.SetServingStatus("", health.NotServing)
	require.Eventually(t, func() bool { return !slicesContains(p.Addrs(), b.addr) }, 10*time.Second, time.Millisecond,
		"b left the pool")
	st, serving = hc.Status(b.addr)
	assert.Equal(t, health.NotServing, st)
	assert.False(t, serving)
	s := spread(t, p, 100)
	assert.Zero(t, s["b"], "no call reaches a NotServing backend")
	assert.Equal(t, 100, s["a"]+s["plain"], "every call is served by the others")

	b.hs.SetServingStatus("", health.Serving)
	require.Eventually(t, func() bool { return spread(t, p, 60)["b"] > 0 }, 10*time.Second, 10*time.Millisecond,
		"b is back")

	// A backend that goes away counts as not serving (its health
	// connection is down) and leaves the list.
	a.stop()
	require.Eventually(t, func() bool { return !slicesContains(p.Addrs(), a.addr) }, 10*time.Second, time.Millisecond)
	s = spread(t, p, 100)
	assert.Equal(t, 100, s["b"]+s["plain"])
}

// Per-service status, and every backend not serving: the list is empty,
// calls fail with ErrNoConn instead of reaching them.
func TestHealthCheckedService(t *testing.T) {
	a := startHealthBackend(t, "a", true)
	a.hs.SetServingStatus("cache", health.NotServing)
	hc, err := balance.NewHealthChecked(balance.Static{a.addr}, balance.HealthOptions{Service: "cache"})
	require.NoError(t, err)
	defer hc.Close()
	addrs, err := hc.Resolve(ctx10(t))
	require.NoError(t, err)
	assert.Empty(t, addrs, "cache is not serving on the only backend")
	p, err := balance.New(context.Background(), hc, balance.Options{Refresh: 10 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	_, err = p.Call(ctx10(t), 1, nil, nil)
	require.ErrorIs(t, err, balance.ErrNoConn)

	a.hs.SetServingStatus("cache", health.Serving)
	require.NoError(t, p.WaitReady(ctx10(t)))
	got, err := p.Call(ctx10(t), 1, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "a", string(got))

	// An unknown service name is not serving.
	hc2, err := balance.NewHealthChecked(balance.Static{a.addr}, balance.HealthOptions{Service: "nope"})
	require.NoError(t, err)
	defer hc2.Close()
	addrs, err = hc2.Resolve(ctx10(t))
	require.NoError(t, err)
	assert.Empty(t, addrs)
	st, _ := hc2.Status(a.addr)
	assert.Equal(t, health.ServiceUnknown, st)
}

func TestHealthOptionsValidate(t *testing.T) {
	for _, o := range []balance.HealthOptions{
		{Service: strings.Repeat("s", health.MaxServiceName+1)},
		{Wait: -1},
		{MinBackoff: time.Second, MaxBackoff: time.Millisecond},
	} {
		_, err := balance.NewHealthChecked(balance.Static{}, o)
		require.ErrorIs(t, err, balance.ErrInvalidOptions, "%+v", o)
	}
	// The client's options are checked by rpc, as balance.Options does.
	_, err := balance.NewHealthChecked(balance.Static{}, balance.HealthOptions{Client: rpc.ClientOptions{MaxInFlight: -1}})
	require.ErrorIs(t, err, rpc.ErrInvalidOptions)
	hc, err := balance.NewHealthChecked(balance.Static{}, balance.HealthOptions{})
	require.NoError(t, err)
	require.NoError(t, hc.Close())
	_, err = hc.Resolve(ctx10(t))
	require.ErrorIs(t, err, balance.ErrClosed)
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Backends whose health service misbehaves do not count as serving: one
// sends malformed statuses (the watch is redialed with backoff), one
// never sends a status (Resolve waits HealthOptions.Wait, no longer).
func TestHealthCheckedBadBackends(t *testing.T) {
	start := func(h rpc.StreamHandler) string {
		srv, err := rpc.NewServer(rpc.ServerOptions{})
		require.NoError(t, err)
		srv.Handle(1, func(_ context.Context, _, dst []byte) ([]byte, error) { return dst, nil }, rpc.Inline)
		srv.HandleStream(health.MethodWatch, h)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
		t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
		return ln.Addr().String()
	}
	var malformedWatches atomic.Int64
	garbage := start(func(ctx context.Context, st *rpc.ServerStream) error {
		malformedWatches.Add(1)
		return st.Send([]byte{1, 1}) // two bytes: not a status
	})
	silent := start(func(ctx context.Context, st *rpc.ServerStream) error {
		<-ctx.Done()
		return ctx.Err()
	})
	good := startHealthBackend(t, "good", true)
	hc, err := balance.NewHealthChecked(balance.Static{garbage, silent, good.addr},
		balance.HealthOptions{Wait: 200 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	require.NoError(t, err)
	defer hc.Close()
	// A hang guard, not a timing assertion: Resolve must return on Wait
	// (200 ms), long before this context's minute runs out.
	rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addrs, err := hc.Resolve(rctx)
	require.NoError(t, err)
	require.NoError(t, rctx.Err(), "Resolve waited for the silent backend past Wait")
	// The good backend's first status may itself come after Wait on a
	// loaded machine (the test asserted it within 200 ms): wait for it;
	// the misbehaving backends never count as serving meanwhile.
	assert.Subset(t, []string{good.addr}, addrs, "only the good backend serves")
	var bad []string
	require.Eventually(t, func() bool {
		addrs, err := hc.Resolve(ctx10(t))
		for _, a := range addrs {
			if a != good.addr {
				bad = addrs
				return true
			}
		}
		return err == nil && len(addrs) == 1
	}, 10*time.Second, time.Millisecond, "the good backend serves")
	require.Nil(t, bad, "a misbehaving backend counted as serving")
	require.Eventually(t, func() bool { return malformedWatches.Load() >= 3 }, 10*time.Second, time.Millisecond,
		"the malformed backend is retried")
	for range 5 {
		addrs, err = hc.Resolve(ctx10(t))
		require.NoError(t, err)
		assert.Equal(t, []string{good.addr}, addrs)
	}
}
