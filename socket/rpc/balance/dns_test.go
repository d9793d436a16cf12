package balance_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

func newDNS(t *testing.T, target string, opts balance.DNSOptions) *balance.DNS {
	t.Helper()
	d, err := balance.NewDNS(target, opts)
	require.NoError(t, err)
	return d
}

func resolve(t *testing.T, d *balance.DNS) []string {
	t.Helper()
	addrs, err := d.Resolve(ctx10(t))
	require.NoError(t, err)
	return addrs
}

// A and AAAA records, the port from the target; nothing is dialed.
func TestDNSAddrs(t *testing.T) {
	s := startDNS(t)
	s.setAddrs("fleet.ps.test.", "10.0.0.1", "10.0.0.2", "fd00::1")
	d := newDNS(t, "fleet.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Interval: time.Nanosecond, MinInterval: time.Nanosecond, Linger: time.Nanosecond})
	assert.ElementsMatch(t, []string{"10.0.0.1:7000", "10.0.0.2:7000", "[fd00::1]:7000"}, resolve(t, d))

	d4 := newDNS(t, "fleet.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4"})
	assert.ElementsMatch(t, []string{"10.0.0.1:7000", "10.0.0.2:7000"}, resolve(t, d4))

	// The answer changes: with Linger and Interval tiny, the set follows
	// it at once.
	s.setAddrs("fleet.ps.test.", "10.0.0.2", "10.0.0.3")
	time.Sleep(time.Millisecond)
	assert.ElementsMatch(t, []string{"10.0.0.2:7000", "10.0.0.3:7000"}, resolve(t, d))
	st := d.Stats()
	assert.Equal(t, uint64(2), st.Lookups)
	assert.Equal(t, uint64(4), st.Added)
	assert.Equal(t, uint64(2), st.Removed)

	// An IP literal needs no server.
	lit := newDNS(t, "127.0.0.1:9", balance.DNSOptions{Resolver: s.resolver()})
	assert.Equal(t, []string{"127.0.0.1:9"}, resolve(t, lit))
}

// Failed and empty answers keep the last good set; before any good answer
// Resolve fails with ErrNoAddrs wrapping the lookup's error.
func TestDNSKeepsLastGoodSet(t *testing.T) {
	s := startDNS(t)
	d := newDNS(t, "gone.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Interval: time.Nanosecond, MinInterval: time.Nanosecond, Linger: time.Nanosecond})
	_, err := d.Resolve(ctx10(t))
	require.ErrorIs(t, err, balance.ErrNoAddrs, "NXDOMAIN before any answer")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.True(t, dnsErr.IsNotFound)

	s.setAddrs("gone.ps.test.", "10.0.0.1")
	assert.Equal(t, []string{"10.0.0.1:7000"}, resolve(t, d))

	for _, bad := range []struct {
		name string
		set  func()
	}{
		{"empty answer", func() { s.setAddrs("gone.ps.test.") }},
		{"SERVFAIL", func() { s.setAddrs("gone.ps.test.", "10.0.0.9"); s.setRcode(2) }},
		{"NXDOMAIN", func() { s.setRcode(3) }},
	} {
		bad.set()
		before := d.Stats().Failures
		time.Sleep(time.Millisecond)
		assert.Equal(t, []string{"10.0.0.1:7000"}, resolve(t, d), bad.name)
		assert.Greater(t, d.Stats().Failures, before, bad.name)
		s.setRcode(0)
	}
	s.setAddrs("gone.ps.test.", "10.0.0.2")
	time.Sleep(time.Millisecond)
	assert.Equal(t, []string{"10.0.0.2:7000"}, resolve(t, d), "a good answer replaces the set")

	// The resolver's own network failing is a failure too.
	dead := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, fmt.Errorf("no network")
	}}
	d2 := newDNS(t, "x.ps.test.:1", balance.DNSOptions{Resolver: dead})
	_, err = d2.Resolve(ctx10(t))
	require.ErrorIs(t, err, balance.ErrNoAddrs)
}

// A huge answer (past UDP: the client retries over TCP) is cut to
// MaxAddrs, the same subset lookup after lookup.
func TestDNSHugeAnswer(t *testing.T) {
	s := startDNS(t)
	var ips []string
	for i := range 400 {
		ips = append(ips, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String())
	}
	s.setAddrs("big.ps.test.", ips...)
	d := newDNS(t, "big.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4", MaxAddrs: 16,
		Interval: time.Nanosecond, MinInterval: time.Nanosecond, Linger: time.Nanosecond})
	first := resolve(t, d)
	require.Len(t, first, 16)
	for i := range 5 {
		// The same records in another order give the same subset.
		rot := append(append([]string(nil), ips[i*37:]...), ips[:i*37]...)
		s.setAddrs("big.ps.test.", rot...)
		time.Sleep(time.Millisecond)
		assert.Equal(t, first, resolve(t, d))
	}
	assert.Equal(t, uint64(16), d.Stats().Added)
	assert.Zero(t, d.Stats().Removed)
}

// Flapping answers (two disjoint sets, alternately) cost at most MaxAddrs
// additions per Linger and no removal while each address keeps coming back.
func TestDNSFlappingBoundsChurn(t *testing.T) {
	s := startDNS(t)
	s.mu.Lock()
	s.flipA = "flap.ps.test."
	for k := range 2 {
		var set []netip.Addr
		for i := range 4 {
			set = append(set, netip.AddrFrom4([4]byte{10, 2, byte(k), byte(i)}))
		}
		s.flip = append(s.flip, set)
	}
	s.mu.Unlock()
	d := newDNS(t, "flap.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4", MaxAddrs: 6,
		Interval: time.Nanosecond, MinInterval: time.Nanosecond, Linger: time.Hour})
	var last []string
	for range 100 {
		last = resolve(t, d)
	}
	st := d.Stats()
	assert.Equal(t, uint64(100), st.Lookups)
	assert.Equal(t, uint64(6), st.Added, "the set filled once")
	assert.Zero(t, st.Removed)
	assert.Len(t, last, 6)
}

// ReResolve (and the Interceptor, on a closed connection or a draining
// server) brings the next lookup forward, but not before MinInterval.
// Each side is checked with a MinInterval far from the test's own time:
// a nanosecond (passed at once: asked for means due), and an hour (never
// passed during the test). With 200 ms, as the test had it, "not before
// MinInterval" failed whenever a loaded machine took 200 ms over the
// lookup and the two calls that followed it.
func TestDNSReResolve(t *testing.T) {
	s := startDNS(t)
	s.setAddrs("rr.ps.test.", "10.0.0.1")
	d := newDNS(t, "rr.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4", Interval: time.Hour, MinInterval: time.Nanosecond})
	resolve(t, d)
	for range 10 {
		resolve(t, d)
	}
	assert.Equal(t, uint64(1), d.Stats().Lookups, "not due before Interval")
	d.ReResolve()
	resolve(t, d)
	assert.Equal(t, uint64(2), d.Stats().Lookups, "ReResolve made one due")
	resolve(t, d)
	assert.Equal(t, uint64(2), d.Stats().Lookups, "once")

	ic := d.Interceptor()
	fail := func(err error) rpc.Invoker {
		return func(context.Context, uint32, rpc.Metadata, []byte, []byte) ([]byte, error) { return nil, err }
	}
	_, _ = ic(context.Background(), 1, nil, nil, nil, fail(rpc.NewError(rpc.CodeAppMin, "app")))
	resolve(t, d)
	assert.Equal(t, uint64(2), d.Stats().Lookups, "an application error is no reason")
	_, _ = ic(context.Background(), 1, nil, nil, nil, fail(&rpc.ClosedError{}))
	resolve(t, d)
	assert.Equal(t, uint64(3), d.Stats().Lookups, "a closed connection is")
	_, _ = ic(context.Background(), 1, nil, nil, nil, fail(rpc.NewError(rpc.CodeUnavailable, "draining")))
	resolve(t, d)
	assert.Equal(t, uint64(4), d.Stats().Lookups, "so is a draining server")

	slow := newDNS(t, "rr.ps.test.:7000", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4", Interval: time.Hour, MinInterval: time.Hour})
	resolve(t, slow)
	slow.ReResolve()
	resolve(t, slow)
	ic = slow.Interceptor()
	_, _ = ic(context.Background(), 1, nil, nil, nil, fail(&rpc.ClosedError{}))
	_, _ = ic(context.Background(), 1, nil, nil, nil, fail(rpc.NewError(rpc.CodeUnavailable, "draining")))
	resolve(t, slow)
	assert.Equal(t, uint64(1), slow.Stats().Lookups, "not before MinInterval")
}

func TestDNSBadTargetsAndOptions(t *testing.T) {
	for _, target := range []string{"", "host", "host:", ":80", "host:0", "host:65536", "host:http", "[::1:80"} {
		_, err := balance.NewDNS(target, balance.DNSOptions{})
		require.ErrorIs(t, err, balance.ErrDNSTarget, "%q", target)
	}
	for _, o := range []balance.DNSOptions{
		{Network: "tcp"}, {Interval: -1}, {MinInterval: -1}, {Linger: -1}, {MaxAddrs: -1},
		{MaxAddrs: balance.MaxDNSAddrs + 1}, {Timeout: -1},
	} {
		_, err := balance.NewDNS("h:1", o)
		require.ErrorIs(t, err, balance.ErrInvalidOptions, "%+v", o)
	}
}

// SRV records give targets and ports; invalid records (port 0, target
// ".") are skipped.
func TestDNSSRV(t *testing.T) {
	s := startDNS(t)
	s.setAddrs("a.ps.test.", "10.0.0.1")
	s.setAddrs("b.ps.test.", "10.0.0.2", "fd00::2")
	s.setSRV("_ps._tcp.svc.ps.test.", srvRecord{"a.ps.test.", 7001}, srvRecord{"b.ps.test.", 7002},
		srvRecord{"a.ps.test.", 0}, srvRecord{".", 7003})
	d := newDNS(t, "_ps._tcp.svc.ps.test.", balance.DNSOptions{Resolver: s.resolver()})
	assert.ElementsMatch(t, []string{"10.0.0.1:7001", "10.0.0.2:7002", "[fd00::2]:7002"}, resolve(t, d))
}

// A pool over an SRV name follows the answers while calls run: a new
// backend gets calls, a removed one leaves the pool.
func TestDNSPoolFollowsFleet(t *testing.T) {
	s := startDNS(t)
	s.setAddrs("lo.ps.test.", "127.0.0.1")
	var backs []*healthBackend
	for i := range 3 {
		backs = append(backs, startHealthBackend(t, fmt.Sprint("s", i), false))
	}
	rec := func(b *healthBackend) srvRecord {
		_, port, err := net.SplitHostPort(b.addr)
		require.NoError(t, err)
		var p uint16
		_, err = fmt.Sscan(port, &p)
		require.NoError(t, err)
		return srvRecord{"lo.ps.test.", p}
	}
	s.setSRV("_ps._tcp.fleet.ps.test.", rec(backs[0]), rec(backs[1]))
	d := newDNS(t, "_ps._tcp.fleet.ps.test.", balance.DNSOptions{Resolver: s.resolver(), Interval: 20 * time.Millisecond,
		MinInterval: 5 * time.Millisecond, Linger: 50 * time.Millisecond})
	p, err := balance.New(context.Background(), d, balance.Options{ConnsPerAddr: 1, Refresh: 5 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx10(t)))

	// Calls run all along, bounded in time and count.
	var mu sync.Mutex
	seen := map[string]int{}
	var failed atomic.Int64
	var otherErr atomic.Value
	// One call at a time: started counts calls before they pick a
	// connection, finished once they are counted.
	var started, finished atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; i < 1_000_000 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			default:
			}
			started.Add(1)
			got, err := p.Call(context.Background(), 1, nil, nil)
			if err != nil {
				failed.Add(1)
				if !errorsIsClosed(err) {
					otherErr.Store(err)
				}
				finished.Add(1)
				continue
			}
			mu.Lock()
			seen[string(got)]++
			mu.Unlock()
			finished.Add(1)
		}
	})
	count := func(name string) int { mu.Lock(); defer mu.Unlock(); return seen[name] }
	require.Eventually(t, func() bool { return count("s0") > 0 && count("s1") > 0 }, 10*time.Second, time.Millisecond)

	s.setSRV("_ps._tcp.fleet.ps.test.", rec(backs[1]), rec(backs[2]))
	require.Eventually(t, func() bool { return count("s2") > 0 }, 10*time.Second, time.Millisecond, "the new backend gets calls")
	require.Eventually(t, func() bool { return !slicesContains(p.Addrs(), backs[0].addr) }, 10*time.Second, time.Millisecond,
		"the removed backend leaves the pool after Linger")
	// A call picked before the removal may still finish: wait until the
	// one started last before it did (not a 20 ms sleep, which a loaded
	// machine outlasted), then let 50 more calls run.
	n := started.Load()
	require.Eventually(t, func() bool { return finished.Load() >= n }, 10*time.Second, time.Millisecond)
	before := count("s0")
	require.Eventually(t, func() bool { return finished.Load() >= n+50 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, before, count("s0"), "no call reaches the removed backend")
	close(stop)
	wg.Wait()
	if e := otherErr.Load(); e != nil {
		t.Fatalf("a call failed with something else than a closed connection: %v", e)
	}
	t.Logf("calls failed while the fleet changed (connections of the removed address closed under them): %d", failed.Load())
	st := d.Stats()
	assert.Equal(t, uint64(3), st.Added)
	assert.Equal(t, uint64(1), st.Removed)
}

func errorsIsClosed(err error) bool { return errors.Is(err, rpc.ErrClosed) }

// A hostile SRV answer with hundreds of targets costs at most MaxAddrs
// target lookups, and the set stays within MaxAddrs.
func TestDNSHugeSRVAnswer(t *testing.T) {
	s := startDNS(t)
	var recs []srvRecord
	for i := range 300 {
		name := fmt.Sprintf("t%d.ps.test.", i)
		s.setAddrs(name, fmt.Sprintf("10.3.%d.%d", i>>8, i&255))
		recs = append(recs, srvRecord{name, 7000})
	}
	s.setSRV("_ps._tcp.many.ps.test.", recs...)
	d := newDNS(t, "_ps._tcp.many.ps.test.", balance.DNSOptions{Resolver: s.resolver(), Network: "ip4", MaxAddrs: 10})
	before := s.queries.Load()
	assert.Len(t, resolve(t, d), 10)
	// One SRV query (over UDP, then TCP: the answer is truncated) and one
	// A query per target looked up.
	assert.LessOrEqual(t, s.queries.Load()-before, int64(2+10))
}
