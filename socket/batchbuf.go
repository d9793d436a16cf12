package socket

import (
	"sync"

	"github.com/protosocket-go/protosocket/pool"
)

// Batch buffers: the pooled buffers of a Sender's batch of small
// messages and of the reader's batch of replies.

// Batch buffers (a Sender's small messages, the reader's replies) are
// pooled apart from pool's calibrating buffers, in two classes: a batch
// starts small, so a lone small message queued holds a few hundred bytes,
// not a large buffer, and moves to a large one, once, if more join it.
// Buffers that grew past the large class (reply batches up to
// WriteBatchBytes) go back to the large class's pool up to
// maxBatchBufKept; larger ones (a SendBatch's large first payload, a
// ReplyAppend's large reply) to pool's large buffers.
var smallBatchBufs, largeBatchBufs sync.Pool

const (
	smallBatchBufSize = 512      // a new batch of one small frame
	batchBufSize      = 16 << 10 // the most a Sender's batch holds; a reply batch's start
	maxBatchBufKept   = 1 << 20  // bigger ones are dropped, not pooled
)

// getBatchBuf returns an empty batch buffer with room for need bytes: of
// the small class if they fit it, else of the large class (a pooled one
// too small for need, which grew past batchBufSize before, is put back
// and a new one made), or one of pool's large buffers, by size class, if
// they are over maxBatchBufKept (a SendBatch whose first payload is that
// large).
func getBatchBuf(need int) *pool.Buffer {
	if need > maxBatchBufKept {
		return pool.GetBufferFor(need)
	}
	if need <= smallBatchBufSize {
		if b, ok := smallBatchBufs.Get().(*pool.Buffer); ok {
			return b
		}
		return &pool.Buffer{B: make([]byte, 0, smallBatchBufSize)}
	}
	if b, ok := largeBatchBufs.Get().(*pool.Buffer); ok {
		if cap(b.B) >= need {
			return b
		}
		largeBatchBufs.Put(b) // for a smaller need
	}
	return &pool.Buffer{B: make([]byte, 0, max(need, batchBufSize))}
}

// putBatchBuf returns a batch buffer to the pool of its class.
func putBatchBuf(b *pool.Buffer) {
	if b == nil {
		return
	}
	if pool.Debug && cap(b.B) <= maxBatchBufKept {
		poisonBatchBuf(b) // and dropped: a slice kept past its lifetime reads as poison (pool's large buffers do the same)
		return
	}
	b.B = b.B[:0]
	switch c := cap(b.B); {
	case c == smallBatchBufSize:
		smallBatchBufs.Put(b)
	case c >= batchBufSize && c <= maxBatchBufKept:
		largeBatchBufs.Put(b)
	case c > maxBatchBufKept:
		pool.PutBuffer(b) // pool's large buffers keep it by size class, within their idle bound
	}
}
