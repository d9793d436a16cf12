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
// Buffers of pool.LargeBufferSize and more (reply batches that grew, a
// SendBatch's large first payload, a ReplyAppend's large reply) come from
// and go back to pool's large buffers, whose free lists are shared by all
// goroutines and bounded in idle bytes: the writer that releases a
// SendBatch's buffer and the sender that takes the next one usually run
// on different Ps, where a sync.Pool (per P) missed every time
// (TestSendBatchLargeFirstAllocs: 2 allocations per batch in CI).
var smallBatchBufs, largeBatchBufs sync.Pool

const (
	smallBatchBufSize = 512      // a new batch of one small frame
	batchBufSize      = 16 << 10 // the most a Sender's batch holds; a reply batch's start
)

// getBatchBuf returns an empty batch buffer with room for need bytes: of
// the small class if they fit it, of the large class if they fit
// batchBufSize, else one of pool's large buffers by size class.
func getBatchBuf(need int) *pool.Buffer {
	if need > batchBufSize {
		return pool.GetBufferFor(max(need, pool.LargeBufferSize))
	}
	if need <= smallBatchBufSize {
		if b, ok := smallBatchBufs.Get().(*pool.Buffer); ok {
			return b
		}
		return &pool.Buffer{B: make([]byte, 0, smallBatchBufSize)}
	}
	if b, ok := largeBatchBufs.Get().(*pool.Buffer); ok {
		return b // every buffer of the class holds at least batchBufSize
	}
	return &pool.Buffer{B: make([]byte, 0, batchBufSize)}
}

// putBatchBuf returns a batch buffer to the pool of its class.
func putBatchBuf(b *pool.Buffer) {
	if b == nil {
		return
	}
	c := cap(b.B)
	if c >= pool.LargeBufferSize {
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
