package pool_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
)

func TestBufferGetPut(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"small", 100},
		{"medium", 64 << 10},
		{"at cap", pool.MaxBufferSize},
		{"oversized", pool.MaxBufferSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pool.GetBuffer()
			assert.Empty(t, b.B)
			b.B = append(b.B, make([]byte, tt.size)...)
			pool.PutBuffer(b)
			b2 := pool.GetBuffer()
			assert.Empty(t, b2.B, "buffers come back reset")
			assert.LessOrEqual(t, cap(b2.B), pool.MaxBufferSize, "oversized buffers are never pooled")
			pool.PutBuffer(b2)
		})
	}
	pool.PutBuffer(nil)
}

// TestLargeBuffers: buffers of LargeBufferSize and up are kept apart, found
// by size, survive a garbage collection, and cost no allocation when
// reused; a small request gets no large buffer.
func TestLargeBuffers(t *testing.T) {
	if testenv.PSDebug {
		t.Skip("under -tags psdebug released buffers are poisoned, never reused")
	}
	b := pool.GetBufferFor(3 << 20)
	assert.Empty(t, b.B)
	assert.GreaterOrEqual(t, cap(b.B), 3<<20)
	assert.LessOrEqual(t, cap(b.B), pool.MaxBufferSize)
	b.B = append(b.B, make([]byte, 3<<20)...)
	pool.PutBuffer(b)
	runtime.GC()
	runtime.GC()
	again := pool.GetBufferFor(3<<20 - 100)
	assert.True(t, b == again, "the idle large buffer is reused, even after collections")
	assert.Empty(t, again.B)
	small := pool.GetBufferFor(100)
	assert.Less(t, cap(small.B), pool.LargeBufferSize, "a small request gets no large buffer")
	pool.PutBuffer(small)
	pool.PutBuffer(again)

	testenv.SkipIfRace(t)
	allocs := testing.AllocsPerRun(100, func() {
		b := pool.GetBufferFor(3 << 20)
		b.B = append(b.B, 1)
		pool.PutBuffer(b)
	})
	assert.Zero(t, allocs)
}

// TestLargeBufferIdleCap: past MaxIdleLargeBufferBytes large buffers are
// dropped, not kept.
func TestLargeBufferIdleCap(t *testing.T) {
	if testenv.PSDebug {
		t.Skip("under -tags psdebug released buffers are poisoned, never reused")
	}
	const size = 8 << 20 // MaxBufferSize: the largest kept
	n := pool.MaxIdleLargeBufferBytes/size + 2
	var bs []*pool.Buffer
	for range n {
		bs = append(bs, pool.GetBufferFor(size))
	}
	for _, b := range bs {
		pool.PutBuffer(b)
	}
	seen := map[*pool.Buffer]bool{}
	for range n {
		b := pool.GetBufferFor(size)
		seen[b] = true
		defer pool.PutBuffer(b)
	}
	reused := 0
	for _, b := range bs {
		if seen[b] {
			reused++
		}
	}
	// Other tests may have left large buffers idle, taking some of the cap.
	assert.LessOrEqual(t, reused, pool.MaxIdleLargeBufferBytes/size, "no more than the cap was kept")
	assert.GreaterOrEqual(t, reused, pool.MaxIdleLargeBufferBytes/size-2)
}

// TestMidSizeBuffersSurviveSmallTraffic: a 60 KiB buffer is reused after
// the calibrating pool has learnt that almost every buffer is small (it
// used to drop such a buffer on every Put: bench/rpcbench
// BenchmarkLarge/64KiB-after-1KiB, 5-7 allocations per call).
func TestMidSizeBuffersSurviveSmallTraffic(t *testing.T) {
	testenv.SkipIfRace(t)
	for range 60000 {
		b := pool.GetBuffer()
		b.B = append(b.B, 'x')
		pool.PutBuffer(b)
	}
	const n = 60 << 10
	b := pool.GetBuffer() // grown by appends, as an encode buffer is
	b.B = append(b.B, make([]byte, n)...)
	pool.PutBuffer(b)
	again := pool.GetBufferFor(n)
	assert.True(t, b == again, "the grown buffer is kept and found by size")
	pool.PutBuffer(again)
	allocs := testing.AllocsPerRun(100, func() {
		b := pool.GetBufferFor(n)
		b.B = append(b.B, make([]byte, n)...)
		pool.PutBuffer(b)
	})
	assert.Zero(t, allocs)
}

// TestLargeBufferEvictsOldSizes: with the idle cap full of one size, a
// buffer of another size coming back is kept (older idle ones make room),
// so a burst of 1 MiB messages does not make every later 4 MiB one
// allocate (socket/rpc TestLargeCallAllocs after the budget tests).
func TestLargeBufferEvictsOldSizes(t *testing.T) {
	if testenv.PSDebug {
		t.Skip("under -tags psdebug released buffers are poisoned, never reused")
	}
	const small, big = 1 << 20, 4 << 20
	var bs []*pool.Buffer
	for range pool.MaxIdleLargeBufferBytes/small + 4 {
		bs = append(bs, pool.GetBufferFor(small))
	}
	for _, b := range bs {
		pool.PutBuffer(b)
	}
	b := pool.GetBufferFor(big)
	pool.PutBuffer(b)
	again := pool.GetBufferFor(big)
	assert.True(t, b == again, "the buffer in use now is kept; older idle ones were dropped")
	pool.PutBuffer(again)
}
