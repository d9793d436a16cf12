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
