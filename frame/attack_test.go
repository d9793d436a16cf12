package frame_test

import (
	"errors"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestAttackAnnouncedLengthsHoldOnlyWhatWasSent is the hostile-peer test of
// the read path over real loopback TCP: conns connections each send a
// header announcing the maximum payload (4 MiB) and then a few bytes, or
// 64 KiB, and stop. Each server-side Reader must hold one SlabSize slab for
// the few bytes (before the fix: the announced 4 MiB, 4 GiB for the 1,000)
// and at most 8 times the bytes sent (partialGrowth 4, power-of-two size
// classes) for the 64 KiB; when the peers close, every slab comes back.
// The heap is measured with runtime/metrics after a collection.
func TestAttackAnnouncedLengthsHoldOnlyWhatWasSent(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 loopback connections")
	}
	for _, tc := range []struct {
		name  string
		f     frame.Framing
		conns int
	}{{"default", frame.Default, 1000}, {"varint", frame.Varint, 500}} {
		t.Run(tc.name, func(t *testing.T) { attackAnnounced(t, tc.f, tc.conns) })
	}
}

func attackAnnounced(t *testing.T, f frame.Framing, conns int) {
	const (
		slab  = frame.DefaultSlabSize
		few   = 7        // payload bytes after the header in wave 1
		more  = 64 << 10 // payload bytes sent in wave 2
		slack = 4 << 20  // the test's own bookkeeping, GC noise
	)
	p := pool.NewSlabPool(pool.Options{MaxSlabSize: 8 << 20, MaxIdleBytes: -1}) // released slabs become garbage
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	var (
		mu      sync.Mutex
		readers []*frame.Reader
		servers []net.Conn
		wg      sync.WaitGroup
		errs    = make(chan error, conns)
	)
	wg.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := frame.NewReader(c, frame.ReaderOptions{Framing: f, Pool: p})
			mu.Lock()
			readers = append(readers, r)
			servers = append(servers, c)
			mu.Unlock()
			wg.Go(func() {
				defer r.Close()
				for {
					if _, err := r.Next(); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	})
	clients := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		mu.Lock()
		for _, c := range servers {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	received := func() (n uint64) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range readers {
			n += r.Stats().Bytes
		}
		return n
	}
	waitReceived := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for received() < want {
			require.True(t, time.Now().Before(deadline), "server read %d of %d bytes", received(), want)
			time.Sleep(5 * time.Millisecond)
		}
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(readers) == conns }, 10*time.Second, time.Millisecond)
	base := heapInUse()

	// Wave 1: a header announcing the maximum, and a few payload bytes.
	prefix := prefixFor(t, f, frame.DefaultMaxFrameSize)
	wave1 := append(append([]byte{}, prefix...), make([]byte, few)...)
	for _, c := range clients {
		_, err := c.Write(wave1)
		require.NoError(t, err)
	}
	sent := uint64(conns * len(wave1))
	waitReceived(sent)
	grew := heapInUse() - base
	perConn := grew / int64(conns)
	t.Logf("%d connections x %d bytes sent: heap +%d KiB (%d B per connection), pool %+v", conns, len(wave1), grew>>10, perConn, p.Stats())
	require.Equal(t, int64(conns), p.Stats().SlabsInUse)
	require.LessOrEqual(t, p.Stats().BytesInUse, int64(conns*slab), "one slab per connection")
	require.LessOrEqual(t, grew, int64(conns*(slab+4<<10))+slack, "heap bounded by one slab per connection, not the announced length")

	// Wave 2: 64 KiB more each, still far from the announced 4 MiB.
	chunk := make([]byte, more)
	for _, c := range clients {
		_, err := c.Write(chunk)
		require.NoError(t, err)
	}
	sent += uint64(conns * more)
	waitReceived(sent)
	grew = heapInUse() - base
	t.Logf("%d connections x %d bytes sent: heap +%d KiB (%d B per connection, %.1fx the bytes sent), pool %+v",
		conns, len(wave1)+more, grew>>10, grew/int64(conns), float64(grew)/float64(sent), p.Stats())
	require.LessOrEqual(t, p.Stats().BytesInUse, int64(8*sent), "slabs within 8x the bytes sent")
	require.LessOrEqual(t, grew, int64(8*sent)+int64(conns*(4<<10))+slack, "heap within 8x the bytes sent")

	// The peers close mid-frame: every Reader fails with ErrTruncated and
	// releases its slabs.
	for _, c := range clients {
		c.Close()
	}
	clients = nil
	for range conns {
		select {
		case err := <-errs:
			require.True(t, errors.Is(err, frame.ErrTruncated), "got %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("readers did not see the close")
		}
	}
	require.Zero(t, p.Stats().SlabsInUse, "cut frames release their slabs")
	require.Zero(t, p.Stats().BytesInUse)
}

// TestAttackBudgetBoundsAllConnections: 300 connections each announce
// 4 MiB and send 64 KiB, against Readers sharing a budget of 8 MiB: the
// connections the budget cannot cover fail with ErrBudget (and release
// everything), so the heap grows by at most the first slab of each
// connection plus the budget, however many connections there are; when the
// rest close, the budget is back to zero.
func TestAttackBudgetBoundsAllConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 loopback connections")
	}
	const (
		conns  = 300
		slab   = frame.DefaultSlabSize
		more   = 64 << 10
		limit  = 8 << 20
		slack  = 4 << 20
		charge = 128 << 10 // a grown slab for 64 KiB: 4 x 32 KiB
	)
	budget := frame.NewBudget(limit)
	p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1, MaxIdleLargeBytes: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	type result struct {
		r   *frame.Reader
		err error
	}
	var (
		mu       sync.Mutex
		readers  []*frame.Reader
		servers  []net.Conn
		wg       sync.WaitGroup
		finished = make(chan result, conns)
	)
	wg.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := frame.NewReader(c, frame.ReaderOptions{Pool: p, Budget: budget})
			mu.Lock()
			readers, servers = append(readers, r), append(servers, c)
			mu.Unlock()
			wg.Go(func() {
				defer r.Close()
				for {
					if _, err := r.Next(); err != nil {
						finished <- result{r, err}
						return
					}
				}
			})
		}
	})
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		mu.Lock()
		for _, c := range servers {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(readers) == conns }, 10*time.Second, time.Millisecond)
	base := heapInUse()

	wave := append(prefixFor(t, frame.Default, frame.DefaultMaxFrameSize), make([]byte, more)...)
	for _, c := range clients {
		_, err := c.Write(wave)
		require.NoError(t, err)
	}
	// Wait until every connection has either read all it was sent or
	// failed.
	failed := map[*frame.Reader]error{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := 0
		mu.Lock()
		for _, r := range readers {
			if r.Stats().Bytes == uint64(len(wave)) {
				done++
			}
		}
		mu.Unlock()
	drain:
		for {
			select {
			case res := <-finished:
				failed[res.r] = res.err
			default:
				break drain
			}
		}
		if done+len(failed) >= conns {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d read, %d failed of %d", done, len(failed), conns)
		time.Sleep(5 * time.Millisecond)
	}
	for _, err := range failed {
		require.ErrorIs(t, err, frame.ErrBudget)
	}
	grew := heapInUse() - base
	t.Logf("%d connections x %d bytes against an %d MiB budget: %d refused, budget %d KiB in use, heap +%d KiB, pool %+v",
		conns, len(wave), limit>>20, len(failed), budget.Used()>>10, grew>>10, p.Stats())
	require.GreaterOrEqual(t, len(failed), conns-limit/charge, "the budget refused the growth it could not cover")
	require.LessOrEqual(t, budget.Used(), int64(limit))
	require.LessOrEqual(t, grew, int64(conns*(slab+4<<10))+limit+slack, "heap within a slab per connection plus the budget")

	for _, c := range clients {
		c.Close()
	}
	clients = nil
	for range conns - len(failed) {
		select {
		case res := <-finished:
			require.ErrorIs(t, res.err, frame.ErrTruncated)
		case <-time.After(30 * time.Second):
			t.Fatal("readers did not see the close")
		}
	}
	require.Zero(t, budget.Used(), "every charge given back")
	require.Zero(t, p.Stats().SlabsInUse)
}

// TestAttackSkippedFramesHoldOneSlab is the hostile-peer test of skip
// mode over real loopback TCP: 300 connections each announce a 512 MiB
// frame (over the 4 MiB maximum, within the 1 GiB skip limit) and send
// 256 KiB of it. Each Reader hands the header up once and then holds one
// SlabSize slab, however much of the announced length is still to come
// and however much was sent (256 KiB of a frame within the maximum may
// grow to a 1 MiB slab: 4x); when the peers close mid-skip every Reader
// fails with ErrTruncated and every slab comes back.
func TestAttackSkippedFramesHoldOneSlab(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 loopback connections")
	}
	const (
		conns = 300
		slab  = frame.DefaultSlabSize
		more  = 256 << 10
		slack = 4 << 20
	)
	p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1, MaxIdleLargeBytes: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var (
		mu      sync.Mutex
		readers []*frame.Reader
		servers []net.Conn
		wg      sync.WaitGroup
		skipped = make(chan frame.Header, conns)
		errs    = make(chan error, conns)
	)
	wg.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := frame.NewReader(c, frame.ReaderOptions{Pool: p, SkipOversized: true})
			mu.Lock()
			readers, servers = append(readers, r), append(servers, c)
			mu.Unlock()
			wg.Go(func() {
				defer r.Close()
				for {
					f, err := r.Next()
					if err != nil {
						errs <- err
						return
					}
					if f.Oversized {
						skipped <- f.Header
					}
				}
			})
		}
	})
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		mu.Lock()
		for _, c := range servers {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(readers) == conns }, 10*time.Second, time.Millisecond)
	base := heapInUse()

	wave := append(frame.AppendHeader(nil, frame.Header{Length: 512 << 20, Stream: 1}), make([]byte, more)...)
	for _, c := range clients {
		_, err := c.Write(wave)
		require.NoError(t, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := uint64(0)
		mu.Lock()
		for _, r := range readers {
			n += r.Stats().Bytes
		}
		mu.Unlock()
		if n == uint64(conns*len(wave)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "server read %d of %d bytes", n, conns*len(wave))
		time.Sleep(5 * time.Millisecond)
	}
	require.Len(t, skipped, conns, "each connection's header handed up once")
	grew := heapInUse() - base
	t.Logf("%d connections x %d bytes of a 512 MiB frame: heap +%d KiB (%d B per connection), pool %+v",
		conns, len(wave), grew>>10, grew/conns, p.Stats())
	require.LessOrEqual(t, p.Stats().BytesInUse, int64(conns*slab), "at most one slab per connection")
	require.LessOrEqual(t, grew, int64(conns*(slab+4<<10))+slack, "heap bounded by one slab per connection")

	for _, c := range clients {
		c.Close()
	}
	clients = nil
	for range conns {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, frame.ErrTruncated)
		case <-time.After(30 * time.Second):
			t.Fatal("readers did not see the close")
		}
	}
	require.Zero(t, p.Stats().SlabsInUse, "closed mid-skip: every slab back")
}
