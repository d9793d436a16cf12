package pool

import "github.com/valyala/bytebufferpool"

// Buffer is a growable encode buffer: append to its B field.
type Buffer = bytebufferpool.ByteBuffer

// MaxBufferSize is the largest capacity PutBuffer keeps; bigger buffers
// are dropped for the garbage collector so one huge message does not pin
// its buffer. It covers a message of the default maximum frame size (4 MiB)
// with its prefix and append's spare capacity, so that large requests and
// responses up to it reuse their buffers (TestLargeCallAllocs in
// socket/rpc); idle buffers live in a sync.Pool, which the garbage
// collector empties.
const MaxBufferSize = 8 << 20

// buffers calibrates its default and maximum sizes from the lengths of the
// buffers put back.
var buffers bytebufferpool.Pool

// GetBuffer returns an empty buffer from the calibrating pool. Return it
// with PutBuffer when done.
func GetBuffer() *Buffer { return buffers.Get() }

// PutBuffer returns b to the pool; b must not be used afterwards. Buffers
// with capacity above MaxBufferSize are dropped. The buffer is reset
// (length zero) before it is pooled: bytebufferpool's Put first records
// the length for its size calibration and then resets it, and a buffer
// past the calibrated maximum is dropped there too. A nil b is ignored.
func PutBuffer(b *Buffer) {
	if b == nil || cap(b.B) > MaxBufferSize {
		return
	}
	buffers.Put(b)
}
