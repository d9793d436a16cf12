package rpcbench_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
)

// BenchmarkLarge is psbench's -payloads step for protosocket as a Go
// benchmark, so that -memprofile can say where a call's allocations are:
// the same System (rpcbench.New), callers cut to 16 MiB in flight as
// psbench cuts them (64 at 64 KiB, 16 at 1 MiB, 4 at 4 MiB), each with its
// request and reply buffers made before the timer, and a context with a
// deadline as the load loop's (so every call carries a timeout prefix).
// allocs/op and B/op count client and server together, as psbench does.
//
// The after-1KiB variants first make 100,000 calls of 1 KiB (64 callers,
// another connection), as psbench -payloads sweep does before its 64 KiB
// step: the process's encode-buffer pool has then learned small sizes.
//
//	go test -run '^$' -bench Large -benchtime 3s -memprofile /tmp/mem.out -memprofilerate 1 ./rpcbench
func BenchmarkLarge(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		callers := min(64, (16<<20)/size)
		b.Run(fmt.Sprintf("%dKiB/x%d", size>>10, callers), func(b *testing.B) { benchLarge(b, size, callers, 0) })
	}
	b.Run("64KiB-after-1KiB/x64", func(b *testing.B) { benchLarge(b, 64<<10, 64, 100_000) })
}

// benchLarge measures unary calls of size bytes from callers callers, after
// small calls of 1 KiB on a connection of their own.
func benchLarge(b *testing.B, size, callers, small int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if small > 0 {
		runCalls(b, ctx, 1<<10, 64, small)
	}
	opts := load.Options{Scenario: load.Unary, Payload: size, Conns: 1, Concurrency: callers}
	sys := rpcbench.New()
	srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := sys.Dial(ctx, srv.Addr(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ks := make(chan load.Caller, callers)
	reqs := make(chan []byte, callers)
	for i := range callers {
		k, err := cl.NewCaller(i)
		if err != nil {
			b.Fatal(err)
		}
		defer k.Close()
		ks <- k
		reqs <- make([]byte, size)
	}
	// A few calls before the timer, as psbench's warm-up.
	k, req := <-ks, <-reqs
	for range 8 {
		if err := k.Call(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	ks <- k
	reqs <- req
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var k load.Caller
		select {
		case k = <-ks:
		default:
			return // more goroutines than callers: the others make the calls
		}
		req := <-reqs
		for pb.Next() {
			if err := k.Call(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// runCalls makes n unary calls of size bytes from callers goroutines on a
// server and client of their own, closed before it returns.
func runCalls(b *testing.B, ctx context.Context, size, callers, n int) {
	opts := load.Options{Scenario: load.Unary, Payload: size, Conns: 1, Concurrency: callers}
	sys := rpcbench.New()
	srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := sys.Dial(ctx, srv.Addr(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	for i := range callers {
		k, err := cl.NewCaller(i)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer k.Close()
			req := make([]byte, size)
			for range n / callers {
				if err := k.Call(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
