package compat_test

// Attack tests for the bounds a hostile client meets (issue #22 items 4
// and 7 for compat).

import (
	"bytes"
	"context"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// At MaxInFlight the server rejects with Cancel and keeps reading: the
// client's Cancels and its close still reach the handlers (before, the
// reader parked at MaxUnfinished and 1,024 handler contexts stayed live
// after the close).
func TestAttackMaxInFlightKeepsReading(t *testing.T) {
	var live atomic.Int64
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(ctx context.Context, req, resp *msg) error {
		live.Add(1)
		defer live.Add(-1)
		<-ctx.Done() // a long poll
		return ctx.Err()
	}, compat.Options{})
	addr := serve(t, srv)
	base := runtime.NumGoroutine()
	p := dialRaw(t, addr)
	const n = 3000
	var b []byte
	for i := range n {
		b = append(b, delimited(enc(uint64(i+1), 0, "poll"))...)
	}
	p.sendBytes(b)
	// Every request over MaxInFlight is rejected at once.
	for range n - compat.DefaultMaxInFlight {
		m := parse(t, p.recv())
		require.Equal(t, compat.Cancel, m.code)
	}
	assert.Equal(t, uint64(n-compat.DefaultMaxInFlight), srv.Stats().Rejected)
	// Only Workers handlers run; the other admitted calls wait without a
	// goroutine.
	require.Eventually(t, func() bool { return live.Load() == compat.DefaultWorkers }, 10*time.Second, time.Millisecond)
	assert.LessOrEqual(t, runtime.NumGoroutine()-base, compat.DefaultWorkers+8)
	// A Cancel is still read and answered.
	p.send(enc(1, 1, ""))
	assert.Equal(t, enc(1, 1, ""), p.recv())
	// The close is still seen: every handler context ends.
	require.NoError(t, p.nc.Close())
	require.Eventually(t, func() bool { return live.Load() == 0 && runtime.NumGoroutine() <= base+2 },
		10*time.Second, time.Millisecond)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC() // sync.Pool victims (pooled buffers no one holds) go at the second

	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A client that never reads holds at most QueueBytes of replies in the
// queue plus one encoded reply per worker: the replies waiting for room
// are inside that budget (before, each blocked call goroutine held its own
// copy: 269 MiB per connection).
func TestAttackNonReadingClientBounded(t *testing.T) {
	const respSize = 64 << 10
	big := bytes.Repeat([]byte{'r'}, respSize)
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(_ context.Context, req, resp *msg) error {
		resp.body = big
		return nil
	}, compat.Options{})
	addr := serve(t, srv)
	warm := dial(t, addr) // fills the process-wide buffer pools first
	for range 200 {
		require.NoError(t, warm.Call(context.Background(), &msg{body: []byte("w")}, new(msg)))
	}
	before := heapInUse()
	p := dialRaw(t, addr)
	var b []byte
	for i := range 4000 {
		b = append(b, delimited(enc(uint64(i+1), 0, "q"))...)
	}
	go func() { _, _ = p.nc.Write(b) }() // may block: the server stops reading once its replies cannot be written
	// Wait until the server stops making progress.
	last, stable := uint64(0), 0
	for deadline := time.Now().Add(10 * time.Second); stable < 30 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		st := srv.Stats()
		if cur := st.Calls + st.Rejected; cur == last {
			stable++
		} else {
			last, stable = cur, 0
		}
	}
	grown := int64(heapInUse()) - int64(before)
	// The queue (4 MiB) + 16 workers x (a reply buffer + its copy) +
	// slack for the writer's batch in progress, the reader's batch and the
	// test itself (measured 8-11.6 MiB in all); 4200 held replies would be
	// 262 MiB.
	bound := int64(4<<20 + compat.DefaultWorkers*2*respSize + 12<<20)
	t.Logf("heap grew %d KiB for %d calls (bound %d KiB)", grown>>10, last, bound>>10)
	assert.Less(t, grown, bound)
	require.NoError(t, p.nc.Close())
}

// A connection that never reads holds only its own workers: another
// connection's Pooled calls keep being served.
func TestAttackNonReaderDoesNotStarveOthers(t *testing.T) {
	big := bytes.Repeat([]byte{'r'}, 64<<10)
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(_ context.Context, req, resp *msg) error {
		if string(req.body) == "big" {
			resp.body = big
		} else {
			resp.body = req.body
		}
		return nil
	}, compat.Options{})
	addr := serve(t, srv)
	p := dialRaw(t, addr)
	var b []byte
	for i := range 2000 {
		b = append(b, delimited(enc(uint64(i+1), 0, "big"))...)
	}
	go func() { _, _ = p.nc.Write(b) }() // blocks once the server stops reading it
	// Wait until that connection's workers are all stuck on its full queue.
	require.Eventually(t, func() bool { return srv.Stats().Calls >= 200 }, 10*time.Second, time.Millisecond)
	cl := dial(t, addr)
	for i := range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var r msg
		err := cl.Call(ctx, &msg{body: []byte{byte('a' + i%26)}}, &r)
		cancel()
		require.NoError(t, err, "call %d", i)
	}
	require.NoError(t, p.nc.Close())
}
