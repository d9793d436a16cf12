package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// BenchmarkLargeCall is a unary echo of a large payload on one connection
// (16 callers, like psbench's large-payload runs): B/op and allocs/op show
// the copies and buffers a large message costs in steady state.
func BenchmarkLargeCall(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		for _, tc := range []struct {
			name   string
			method uint32
		}{{"inline", mEchoInline}, {"pooled", mEcho}} {
			b.Run(fmt.Sprintf("%s/%dKiB", tc.name, size>>10), func(b *testing.B) {
				ts := startServer(b, rpc.ServerOptions{})
				c := dial(b, ts.addr, rpc.ClientOptions{})
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.SetParallelism(8) // 16 callers on 2 CPUs
				b.RunParallel(func(pb *testing.PB) {
					k, err := c.NewCaller()
					if err != nil {
						b.Error(err)
						return
					}
					defer k.Close()
					req, dst := make([]byte, size), make([]byte, 0, size)
					for pb.Next() {
						if dst, err = k.Call(context.Background(), tc.method, req, dst[:0]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// TestLargeCallAllocs: a unary echo of 1 MiB and of 4 MiB (at the default
// MaxFrameSize), Inline and Pooled, costs, in steady state, at most one allocation and 64 KiB
// allocated per call, client and server together (both run here): the
// read buffers come from the slab pool's large classes, the handler's
// response goes out by reference, and the request and response buffers
// are pooled.
func TestLargeCallAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	for _, tc := range []struct {
		size   int
		method uint32
	}{{1 << 20, mEchoInline}, {frame.DefaultMaxFrameSize, mEchoInline}, {1 << 20, mEcho}, {frame.DefaultMaxFrameSize, mEcho}} {
		size := tc.size
		t.Run(fmt.Sprintf("%dKiB/method%d", size>>10, tc.method), func(t *testing.T) {
			req := bytes.Repeat([]byte{0xa5}, size)
			dst := make([]byte, 0, size)
			call := func() {
				var err error
				dst, err = k.Call(context.Background(), tc.method, req, dst[:0])
				if err != nil || len(dst) != size {
					t.Fatalf("call: %d bytes, %v", len(dst), err)
				}
			}
			for range 20 {
				call() // warm the pools
			}
			const runs = 200
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := testing.AllocsPerRun(runs, call)
			runtime.ReadMemStats(&after)
			perCall := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
			t.Logf("%d-byte echo: %.1f allocs, %d B allocated per call", size, allocs, perCall)
			assert.LessOrEqual(t, allocs, 1.0)
			assert.LessOrEqual(t, perCall, uint64(64<<10))
			assert.True(t, bytes.Equal(req, dst))
		})
	}
}

// TestDefaultMaxFrameSizeCarriesA4MiBBodyWithPrefix: with the default
// options a request body of frame.DefaultMaxFrameSize with a deadline and
// metadata (a prefix before the body) goes through, and so does its echo.
func TestDefaultMaxFrameSizeCarriesA4MiBBodyWithPrefix(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := rpc.Metadata(nil).Append("k", bytes.Repeat([]byte("v"), 200))
	require.NoError(t, err)
	req := bytes.Repeat([]byte{0x5a}, frame.DefaultMaxFrameSize)
	resp, err := k.CallMetadata(ctx, mEchoInline, md, req, nil)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(req, resp))
	_, err = k.CallMetadata(ctx, mEchoInline, md, append(req, make([]byte, rpc.DefaultMaxFrameSize-len(req))...), nil)
	assert.Error(t, err, "a body over the frame with its prefix is refused")
}

// TestLargeCallAllocsConcurrentAcrossGC: 3 callers echo 1 MiB at once, the
// garbage collector runs (twice before each round of 3 calls each), and
// they go on: the buffers they used are still
// pooled (large encode buffers and large slabs are kept in free lists the
// collector does not empty), so the calls after the collections allocate
// at most 64 KiB each.
// (Three, so that their requests fit the default QueueBytes of 4 MiB;
// a sender that waits for room no longer allocates, spillway's
// TestWeightWaitAllocs.)
func TestLargeCallAllocsConcurrentAcrossGC(t *testing.T) {
	testenv.SkipIfRace(t)
	const (
		callers = 3
		size    = 1 << 20
	)
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	req := bytes.Repeat([]byte{0x3c}, size)
	dsts := make([][]byte, callers)
	for i := range dsts {
		dsts[i] = make([]byte, 0, size)
	}
	ks := make([]*rpc.Caller, callers)
	for i := range ks {
		var err error
		ks[i], err = c.NewCaller()
		require.NoError(t, err)
		defer ks[i].Close()
	}
	// The callers run on goroutines started once, a round at a time, so
	// that the test itself allocates nothing per round.
	const rounds, calls = 10, 3
	next, done := make(chan int), make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			for n := range next {
				for range n {
					var err error
					dsts[i], err = ks[i].Call(context.Background(), mEchoInline, req, dsts[i][:0])
					if err != nil || len(dsts[i]) != size {
						t.Errorf("call: %d bytes, %v", len(dsts[i]), err)
					}
				}
				done <- struct{}{}
			}
		})
	}
	defer wg.Wait()
	defer close(next)
	round := func(n int) {
		for range callers {
			next <- n
		}
		for range callers {
			<-done
		}
	}
	round(5) // warm the pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rounds {
		runtime.GC() // twice: a sync.Pool keeps its victims through one
		runtime.GC()
		round(calls)
	}
	runtime.ReadMemStats(&after)
	n := uint64(rounds * callers * calls)
	allocs, perCall := (after.Mallocs-before.Mallocs)/n, (after.TotalAlloc-before.TotalAlloc)/n
	t.Logf("%d callers x %d-byte echo, 2 GCs every %d calls: %d allocs, %d B per call", callers, size, callers*calls, allocs, perCall)
	// Small pooled objects (writer state, batch buffers: sync.Pools) are
	// remade after each collection, a few allocations per round; a large
	// buffer remade would be over 100 KiB per call.
	assert.LessOrEqual(t, perCall, uint64(64<<10))
}

// TestLargeStreamMessageAllocs: a bidi stream echoing 1 MiB messages costs
// at most one allocation and 64 KiB per round trip in steady state (the
// received copies take large buffers by size).
func TestLargeStreamMessageAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	_, addr := streamEchoServer(t)
	c := dial(t, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(context.Background(), sBidi, nil)
	require.NoError(t, err)
	defer st.Close()
	msg := bytes.Repeat([]byte{0x77}, 1<<20)
	buf := make([]byte, 0, 1<<20)
	round := func() {
		if err := st.Send(msg); err != nil {
			t.Fatal(err)
		}
		var err error
		if buf, err = st.Recv(buf[:0]); err != nil || len(buf) != len(msg) {
			t.Fatalf("recv: %d bytes, %v", len(buf), err)
		}
	}
	for range 20 {
		round()
	}
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(runs, round)
	runtime.ReadMemStats(&after)
	perRound := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
	t.Logf("1 MiB stream echo: %.1f allocs, %d B per round trip", allocs, perRound)
	assert.LessOrEqual(t, allocs, 1.0)
	assert.LessOrEqual(t, perRound, uint64(64<<10))
}
