package pool

import "github.com/valyala/bytebufferpool"

// Buffer is a growable encode buffer: append to its B field.
type Buffer = bytebufferpool.ByteBuffer

// MaxBufferSize is the largest capacity PutBuffer keeps; bigger buffers
// are dropped for the garbage collector so one huge message does not pin
// its buffer.
const MaxBufferSize = 1 << 20

// buffers calibrates its default and maximum sizes from the lengths of the
// buffers put back.
var buffers bytebufferpool.Pool

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

// PutBuffer returns b to the pool; b must not be used afterwards. Buffers
// with capacity above MaxBufferSize are dropped. The buffer is reset
// (length zero) before it is pooled: bytebufferpool's Put first records
// the length for its size calibration and then resets it, and a buffer
// past the calibrated maximum is dropped there too. A nil b is ignored.
// Under the psdebug build tag the whole capacity is filled with
// PoisonByte and the buffer is never reused, so a view kept past its
// release (a handler's request copy or response buffer) reads poison, not
// a later message.
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
	buffers.Put(b)
}
