package pool

import (
	"math/bits"
	"sync"

	"github.com/valyala/bytebufferpool"
)

// Buffer is a growable encode buffer: append to its B field.
type Buffer = bytebufferpool.ByteBuffer

// MaxBufferSize is the largest capacity PutBuffer keeps; bigger buffers
// are dropped for the garbage collector so one huge message does not pin
// its buffer. It covers a message of the default maximum frame size (4 MiB)
// with its prefix and spare capacity, so that large requests and responses
// up to it reuse their buffers (TestLargeCallAllocs in socket/rpc).
const MaxBufferSize = 8 << 20

// LargeBufferSize is the capacity from which buffers are large: PutBuffer
// keeps them in a free list of their own, capped at
// MaxIdleLargeBufferBytes, rather than in the calibrating pool, whose
// sync.Pool the garbage collector empties (so a steady stream of large
// messages reallocated its buffers after every collection: psbench 4 MiB
// unary, 16 callers, 2.6-2.9 allocations and 0.6-0.8 MB per call), and
// GetBufferFor hands them out by size.
const LargeBufferSize = 256 << 10

// MaxIdleLargeBufferBytes caps the capacity of the large buffers kept idle
// for reuse; past it PutBuffer drops them for the garbage collector.
const MaxIdleLargeBufferBytes = 64 << 20

// buffers calibrates its default and maximum sizes from the lengths of the
// buffers put back.
var buffers bytebufferpool.Pool

// large is the free list of large buffers (LIFO; a handful at most).
var large struct {
	mu   sync.Mutex
	free []*Buffer
	idle int
}

// GetBuffer returns an empty buffer from the calibrating pool. Return it
// with PutBuffer when done. Under the psdebug build tag every buffer is
// new (released ones are poisoned, never reused) and has some capacity,
// so that appends land in it and a view kept past PutBuffer is caught.
func GetBuffer() *Buffer {
	if debug {
		return &Buffer{B: make([]byte, 0, debugBufferCap)}
	}
	return buffers.Get()
}

// debugBufferCap is the capacity of a new buffer under psdebug.
const debugBufferCap = 256

// GetBufferFor returns an empty buffer with room for n bytes if n is at
// least LargeBufferSize (the smallest idle large buffer that fits, or a new
// one with n rounded up to a quarter of a power of two, so that messages
// of about the same size share buffers); for a smaller n it is GetBuffer.
// Return it with PutBuffer when done.
func GetBufferFor(n int) *Buffer {
	if n < LargeBufferSize || n > MaxBufferSize {
		return GetBuffer()
	}
	large.mu.Lock()
	best := -1
	for i, b := range large.free {
		if c := cap(b.B); c >= n && (best < 0 || c < cap(large.free[best].B)) {
			best = i
		}
	}
	if best >= 0 {
		b := large.free[best]
		last := len(large.free) - 1
		large.free[best] = large.free[last]
		large.free[last] = nil
		large.free = large.free[:last]
		large.idle -= cap(b.B)
		large.mu.Unlock()
		return b
	}
	large.mu.Unlock()
	return &Buffer{B: make([]byte, 0, roundQuarter(n))}
}

// roundQuarter rounds n up to base, 1.25, 1.5, 1.75 or 2 times base, base
// the largest power of two below n.
func roundQuarter(n int) int {
	base := 1 << (bits.Len(uint(n-1)) - 1)
	q := max(base/4, 1)
	return base + (n-base+q-1)/q*q
}

// PutBuffer returns b to the pool; b must not be used afterwards. Buffers
// with capacity above MaxBufferSize are dropped; large ones (LargeBufferSize
// and up) go to the large free list, or are dropped past
// MaxIdleLargeBufferBytes. The buffer is reset (length zero) before it is
// pooled: bytebufferpool's Put first records the length for its size
// calibration and then resets it, and a buffer past the calibrated maximum
// is dropped there too. A nil b is ignored. Under the psdebug build tag the
// whole capacity is filled with PoisonByte and the buffer is never reused,
// so a view kept past its release (a handler's request copy or response
// buffer) reads poison, not a later message.
func PutBuffer(b *Buffer) {
	if b == nil {
		return
	}
	if debug {
		poison(b.B[:cap(b.B)])
		return
	}
	if cap(b.B) > MaxBufferSize {
		return
	}
	if c := cap(b.B); c >= LargeBufferSize {
		b.B = b.B[:0]
		large.mu.Lock()
		if large.idle+c <= MaxIdleLargeBufferBytes {
			large.free = append(large.free, b)
			large.idle += c
		}
		large.mu.Unlock()
		return
	}
	buffers.Put(b)
}
