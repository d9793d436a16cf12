package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
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
// MaxFrameSize) costs, in steady state, at most one allocation and 64 KiB
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
	for _, size := range []int{1 << 20, frame.DefaultMaxFrameSize} {
		t.Run(fmt.Sprintf("%dKiB", size>>10), func(t *testing.T) {
			req := bytes.Repeat([]byte{0xa5}, size)
			dst := make([]byte, 0, size)
			call := func() {
				var err error
				dst, err = k.Call(context.Background(), mEchoInline, req, dst[:0])
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
