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
// keeps them in free lists of their own (one per size class, a quarter of
// a power of two apart), capped at MaxIdleLargeBufferBytes, rather than in
// the calibrating pool, and GetBufferFor hands them out by size. The
// calibrating pool drops buffers above the sizes most of its recent puts
// had, and its sync.Pool is emptied by the garbage collector: a 4 MiB
// stream reallocated its buffers after every collection (psbench 4 MiB
// unary, 16 callers, 2.6-2.9 allocations and 0.6-0.8 MB per call), and
// 64 KiB messages among many small ones were reallocated every time
// (bench/rpcbench BenchmarkLarge/64KiB-after-1KiB: 5-7 allocations and
// 171-207 KB per call while the threshold was 256 KiB).
const LargeBufferSize = 32 << 10

// MaxIdleLargeBufferBytes caps the capacity of the large buffers kept idle
// for reuse; past it PutBuffer drops them for the garbage collector.
const MaxIdleLargeBufferBytes = 64 << 20

// buffers calibrates its default and maximum sizes from the lengths of the
// buffers put back.
var buffers bytebufferpool.Pool

// large holds the idle large buffers: free[k] is a stack of buffers whose
// capacity is at least classSize(k).
var large struct {
	mu   sync.Mutex
	free [numClasses][]*Buffer
	idle int
}

// Large size classes: four per doubling (base, 1.25, 1.5 and 1.75 times a
// power of two) from LargeBufferSize up to MaxBufferSize.
const (
	minClassShift = 15 // log2(LargeBufferSize)
	numClasses    = (23-minClassShift)*4 + 1
)

// classFloor is the class of a buffer of capacity c (LargeBufferSize <= c
// <= MaxBufferSize): the largest class whose size is at most c.
func classFloor(c int) int {
	e := bits.Len(uint(c)) - 1
	base := 1 << e
	return (e-minClassShift)*4 + (c-base)/(base/4)
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
// least LargeBufferSize (an idle large buffer of n's size class or up to
// three classes above it, or a new one with n rounded up to a quarter of a
// power of two, so that messages of about the same size share buffers);
// for a smaller n it is GetBuffer. Return it with PutBuffer when done.
func GetBufferFor(n int) *Buffer {
	if n < LargeBufferSize || n > MaxBufferSize {
		return GetBuffer()
	}
	size := roundQuarter(n)
	k := classFloor(size)
	large.mu.Lock()
	for j := k; j < min(k+4, numClasses); j++ {
		if l := len(large.free[j]); l > 0 {
			b := large.free[j][l-1]
			large.free[j][l-1] = nil
			large.free[j] = large.free[j][:l-1]
			large.idle -= cap(b.B)
			large.mu.Unlock()
			return b
		}
	}
	large.mu.Unlock()
	return &Buffer{B: make([]byte, 0, size)}
}

// roundQuarter rounds n up to base, 1.25, 1.5, 1.75 or 2 times base, base
// the largest power of two below n.
func roundQuarter(n int) int {
	base := 1 << (bits.Len(uint(n-1)) - 1)
	q := max(base/4, 1)
	return base + (n-base+q-1)/q*q
}

// evictLocked drops idle large buffers, oldest first within each class
// and from the smallest class up, until c more bytes fit under
// MaxIdleLargeBufferBytes: the buffer coming back is the one in use now,
// so a burst of one size (say 1 MiB requests) does not keep later ones of
// another size (4 MiB) from being reused. large.mu is held.
func evictLocked(c int) {
	for k := 0; k < numClasses && large.idle+c > MaxIdleLargeBufferBytes; k++ {
		for len(large.free[k]) > 0 && large.idle+c > MaxIdleLargeBufferBytes {
			old := large.free[k][0]
			large.free[k][0] = nil
			large.free[k] = large.free[k][1:]
			large.idle -= cap(old.B)
		}
	}
}

// PutBuffer returns b to the pool; b must not be used afterwards. Buffers
// with capacity above MaxBufferSize are dropped; large ones (LargeBufferSize
// and up) go to the large free lists, dropping the oldest idle ones to
// stay within MaxIdleLargeBufferBytes. The buffer is reset (length zero) before it is
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
		k := classFloor(c)
		large.mu.Lock()
		evictLocked(c)
		large.free[k] = append(large.free[k], b)
		large.idle += c
		large.mu.Unlock()
		return
	}
	buffers.Put(b)
}
