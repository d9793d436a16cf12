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
// WriteBatchBytes, SendBatches) go back to the large class's pool up to
// maxBatchBufKept, so the next batch reuses the grown buffer; larger ones
// (a SendBatch's large first payload, a ReplyAppend's large reply) go to
// pool's large buffers. The large class is a sync.Pool (per P): a buffer
// released by the writer on one P may be missed by a sender on another
// while it sits in that P's private slot (a lone SendBatch with a
// 300 KiB first payload allocated its buffer at every batch in CI, never
// here); reuse in this class is best-effort, pool's large buffers
// (above maxBatchBufKept) are shared by all Ps.
var smallBatchBufs, largeBatchBufs sync.Pool

const (
	smallBatchBufSize = 512      // a new batch of one small frame
	batchBufSize      = 16 << 10 // the most a Sender's batch holds; a reply batch's start
	maxBatchBufKept   = 1 << 20  // bigger ones go to pool's large buffers
)

// getBatchBuf returns an empty batch buffer with room for need bytes: of
// the small class if they fit it; else of the large class (two pooled
// ones are looked at, as the first may be a smaller one, and a new one is
// made if neither fits); or, over maxBatchBufKept, one of pool's large
// buffers by size class.
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
	var small *pool.Buffer
	for range 2 {
		b, ok := largeBatchBufs.Get().(*pool.Buffer)
		if !ok {
			break
		}
		if cap(b.B) >= need {
			if small != nil {
				largeBatchBufs.Put(small)
			}
			return b
		}
		if small != nil {
			largeBatchBufs.Put(small)
		}
		small = b
	}
	if small != nil {
		largeBatchBufs.Put(small) // for a smaller need
	}
	return &pool.Buffer{B: make([]byte, 0, max(need, batchBufSize))}
}

// putBatchBuf returns a batch buffer to the pool of its class.
func putBatchBuf(b *pool.Buffer) {
	if b == nil {
		return
	}
	c := cap(b.B)
	if c > maxBatchBufKept {
		pool.PutBuffer(b) // within the large buffers' idle bound; poisoned, not reused, under psdebug
		return
	}
	if pool.Debug {
		poisonBatchBuf(b) // and dropped: a slice kept past its lifetime reads as poison
		return
	}
	b.B = b.B[:0]
	switch {
	case c == smallBatchBufSize:
		smallBatchBufs.Put(b)
	case c >= batchBufSize:
		largeBatchBufs.Put(b)
	}
}
