package rpc

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/pool"
)

// TestRecvQueueBudgetSlack: the connection's budget counts every byte
// the queue holds (its byte queue's capacity and its large messages),
// plus less than releaseBytes per stream of bytes already read; a
// waiting receiver and a dropped queue hold none. Messages come out in
// order, small (inline) and large (own buffer) mixed.
func TestRecvQueueBudgetSlack(t *testing.T) {
	const window = 64
	rb := &recvBudget{limit: 1 << 30}
	var q recvQueue
	q.init(64)
	q.rb = rb
	rnd := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	var dst []byte
	for step := range 20000 {
		if len(want) < window && rnd.IntN(2) == 0 {
			n := rnd.IntN(3 * inlineMax)
			if rnd.IntN(8) == 0 {
				n = inlineMax + rnd.IntN(40<<10)
			}
			p := bytes.Repeat([]byte{byte(step)}, n)
			require.Equal(t, admitOK, q.push(p, window))
			want = append(want, p)
		} else if len(want) > 0 {
			q.mu.Lock()
			dst = q.popLocked(dst[:0])
			q.mu.Unlock()
			require.Equal(t, want[0], dst, "step %d", step)
			want = want[1:]
		}
		used := rb.used.Load()
		queued := queueHeld(&q) // what the queue holds
		require.GreaterOrEqual(t, used, queued, "never under-counts (step %d)", step)
		require.Less(t, used-queued, int64(releaseBytes), "over-counts by less than releaseBytes (step %d)", step)
	}
	require.Equal(t, admitOverCredit, func() admitResult {
		for range window + 1 {
			if r := q.push([]byte("x"), window); r != admitOK {
				return r
			}
		}
		return admitOK
	}(), "the window bounds the messages queued")
	q.drop()
	assert.Zero(t, rb.used.Load(), "a dropped queue gives every byte back")
	assert.Equal(t, admitOK, q.push([]byte("late"), window), "after drop: discarded")
	assert.Zero(t, rb.used.Load(), "after drop nothing is counted")
}

// queueHeld is the memory q holds: its byte queue's capacity and its
// large messages' buffers' capacities.
func queueHeld(q *recvQueue) int64 {
	n := int64(cap(q.small))
	for _, b := range q.big[q.bigR:] {
		n += int64(cap(b.B))
	}
	return n
}

// presetSmall gives q a byte queue of capacity c, so that what the budget
// counts does not depend on the capacity of the pool's buffers.
func presetSmall(q *recvQueue, c int) {
	q.sbuf = &pool.Buffer{B: make([]byte, 0, c)}
	q.small = q.sbuf.B
}

// TestRecvQueueOverBudget: a message that would pass the limit is refused
// and not counted.
func TestRecvQueueOverBudget(t *testing.T) {
	rb := &recvBudget{limit: 10 << 10}
	var q recvQueue
	q.init(64)
	q.rb = rb
	presetSmall(&q, 64)
	require.Equal(t, admitOK, q.push(make([]byte, 6<<10), 64))
	held := queueHeld(&q)
	assert.Equal(t, held, rb.used.Load(), "the large message's buffer and the byte queue's capacity")
	require.Equal(t, admitOverBudget, q.push(make([]byte, 5<<10), 64))
	assert.Equal(t, held, rb.used.Load(), "the refused message is not counted")
}

// TestRecvQueueCountsSmallCapacity: small messages count the capacity
// of the byte queue holding them, room to grow included; where doubling
// would pass the limit the queue grows by what the message needs, and a
// message whose own bytes would pass it is refused.
func TestRecvQueueCountsSmallCapacity(t *testing.T) {
	rb := &recvBudget{limit: 1000}
	var q recvQueue
	q.init(64)
	q.rb = rb
	presetSmall(&q, 256)
	for range 2 {
		require.Equal(t, admitOK, q.push(make([]byte, 100), 64))
	}
	assert.Equal(t, int64(256), rb.used.Load(), "two messages in the preset capacity")
	require.Equal(t, admitOK, q.push(make([]byte, 100), 64)) // grows to 512
	assert.Equal(t, int64(512), rb.used.Load())
	for q.n < 4 { // 102 bytes each (a 2-byte prefix): 408 of 512
		require.Equal(t, admitOK, q.push(make([]byte, 100), 64))
	}
	// Doubling to 1024 would pass 1000: it grows by the 105 B it asks for.
	require.Equal(t, admitOK, q.push(make([]byte, 100), 64))
	assert.Equal(t, 408+105, cap(q.small))
	assert.Equal(t, int64(408+105), rb.used.Load())
	for q.push(make([]byte, 100), 64) == admitOK {
		require.LessOrEqual(t, rb.used.Load(), int64(1000))
	}
	assert.Equal(t, int64(cap(q.small)), rb.used.Load(), "the refused message is not counted")
	assert.Less(t, 1000-len(q.small), 105, "refused only when its bytes did not fit")
	q.drop()
	assert.Zero(t, rb.used.Load())
}

// TestRecvWaitingReleases: a receiver that waits for a message gives the
// bytes it read back first, so an idle stream holds only what is queued
// (and the byte queue it keeps, at most keepBytes).
func TestRecvWaitingReleases(t *testing.T) {
	rb := &recvBudget{limit: 1 << 30}
	s := newCore(nil, 1, 1, 64)
	s.q.rb = rb
	presetSmall(&s.q, 64)
	for range 3 {
		require.Equal(t, admitOK, s.admit(make([]byte, 2000)))
	}
	held := queueHeld(&s.q) // the byte queue and the three buffers' capacities
	for range 3 {
		_, err := s.recv(context.Background(), nil)
		require.NoError(t, err)
	}
	assert.Equal(t, held, rb.used.Load(), "read bytes are given back in batches")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.recv(ctx, nil)
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Equal(t, int64(64), rb.used.Load(), "a waiting receiver holds no slack, only its kept byte queue")
	// A message pushed while it waits wakes it.
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.admit([]byte("wake"))
	}()
	out, err := s.recv(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "wake", string(out))
	s.closeRecv(errors.New("end"))
	_, err = s.recv(context.Background(), nil)
	assert.EqualError(t, err, "end")
}

// TestRecvQueueIdleKeepsLittle: once drained, a queue that held a burst
// of small messages keeps at most keepFor(window) of them; a dropped one none.
func TestRecvQueueIdleKeepsLittle(t *testing.T) {
	var q recvQueue
	q.init(64)
	for range 64 {
		require.Equal(t, admitOK, q.push(make([]byte, inlineMax), 64))
	}
	require.Greater(t, cap(q.small), 64*inlineMax)
	var dst []byte
	for range 64 {
		q.mu.Lock()
		dst = q.popLocked(dst[:0])
		q.mu.Unlock()
	}
	assert.LessOrEqual(t, cap(q.small), keepFor(64), "an idle stream keeps at most keepFor(window)")
	require.Equal(t, admitOK, q.push([]byte("again"), 64))
	q.mu.Lock()
	dst = q.popLocked(dst[:0])
	q.mu.Unlock()
	assert.Equal(t, "again", string(dst))
	q.drop()
	assert.Nil(t, q.small)
}

// A queueRun (a read batch's run of one stream's messages) admits
// exactly what push would one by one: the budget refuses the message that
// would take it over its limit, counting the run's own earlier bytes;
// the credit refuses the message past the window; runs longer than
// runMax are queued in order.
func TestQueueRunBounds(t *testing.T) {
	msg := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i)}, n) }
	newQ := func(limit int64) *recvQueue {
		q := &recvQueue{rb: &recvBudget{limit: limit}}
		q.init(64)
		return q
	}

	// Budget: 64 bytes of byte queue and 3000 for messages of 2000 (large,
	// each in a buffer of at least 2000): the second is refused.
	q := newQ(64 + 3000)
	presetSmall(q, 64)
	var r queueRun
	r.begin(q, 64)
	res := admitOK
	for i := range 3 {
		if res = r.add(msg(i, 2000)); res != admitOK {
			break
		}
	}
	require.Equal(t, admitOK, res, "gathered, not yet queued")
	assert.Equal(t, admitOverBudget, r.end())
	r.release()
	assert.Equal(t, 1, q.n)
	assert.Equal(t, queueHeld(q), q.rb.used.Load(), "the budget counts the one queued (its buffer's capacity)")

	// Credit: a window of 2 refuses the third.
	q = newQ(1 << 20)
	r.begin(q, 2)
	for i := range 3 {
		require.Equal(t, admitOK, r.add(msg(i, 10)))
	}
	assert.Equal(t, admitOverCredit, r.end())
	r.release()
	assert.Equal(t, 2, q.n)

	// Longer than runMax, small and large (own buffer) mixed: all queued,
	// in order, the receiver woken.
	q = newQ(1 << 30)
	q.waiting = true
	const n = 3*runMax + 5
	r.begin(q, n)
	for i := range n {
		require.Equal(t, admitOK, r.add(msg(i, (i%3)*inlineMax)))
	}
	require.Equal(t, admitOK, r.end())
	r.release()
	select {
	case <-q.wake:
	default:
		t.Fatal("receiver not woken")
	}
	require.Equal(t, n, q.n)
	for i := range n {
		q.mu.Lock()
		got := q.popLocked(nil)
		q.mu.Unlock()
		require.Equal(t, string(msg(i, (i%3)*inlineMax)), string(got), "message %d", i)
	}
	q.drop()
	assert.Zero(t, q.rb.used.Load())
}

// A window of 256 small messages that fills and empties the queue keeps
// its byte slice (no pool round trip and regrowth per emptying), and a
// burst of large inline messages past keepFor(256) is still given back.
func TestRecvQueueKeepsItsWindow(t *testing.T) {
	var q recvQueue
	q.init(256)
	// A small buffer of its own, not whatever the shared pool holds.
	q.sbuf = &pool.Buffer{B: make([]byte, 0, 64)}
	q.small = q.sbuf.B
	fill := func(n, size int) {
		for range n {
			require.Equal(t, admitOK, q.push(make([]byte, size), 256))
		}
		var dst []byte
		for range n {
			q.mu.Lock()
			dst = q.popLocked(dst[:0])
			q.mu.Unlock()
		}
	}
	fill(256, 16)
	require.NotNil(t, q.small, "a full window of 16 B messages is kept")
	kept := &q.small[:1][0]
	fill(256, 16)
	assert.Same(t, kept, &q.small[:1][0], "the same slice serves the next window")
	fill(64, inlineMax)
	assert.LessOrEqual(t, cap(q.small), keepFor(256))
	assert.Equal(t, 8<<10, keepFor(256))
	assert.Equal(t, keepBytes, keepFor(64))
	q.drop()
}

// TestRecvQueueCountsBufferCapacity: a large message is counted by the
// capacity of the buffer that holds it, not by its length (a pooled
// buffer may be three size classes above it: nearly twice its size), so
// what a peer's messages hold stays within the limit; and a message the
// budget has room for is not refused because the pool handed back a
// buffer larger than the room left: it gets a buffer of its own size.
func TestRecvQueueCountsBufferCapacity(t *testing.T) {
	const msg = 40<<10 + 1 // class 48 KiB; the pool may hand back up to 64 KiB
	// Idle 64 KiB buffers in the pool: 1.6 times the message.
	for range 8 {
		pool.PutBuffer(&pool.Buffer{B: make([]byte, 0, 64<<10)})
	}
	rb := &recvBudget{limit: 256 << 10}
	var q recvQueue
	q.init(64)
	q.rb = rb
	presetSmall(&q, 64)
	n := 0
	for q.push(make([]byte, msg), 64) == admitOK {
		n++
		require.Equal(t, queueHeld(&q), rb.used.Load(), "counted: what the queue holds (%d messages)", n)
	}
	held := queueHeld(&q)
	t.Logf("%d messages of %d B queued: %d B held, limit %d B", n, msg, held, rb.limit)
	assert.LessOrEqual(t, held, rb.limit, "held within the limit")
	assert.Equal(t, held, rb.used.Load())
	// It stops only when not even a buffer of the message's own size
	// (the allocator's size class) fits: the pool's larger buffers do
	// not refuse it earlier.
	own := int64(cap(slices.Grow([]byte(nil), msg)))
	assert.Less(t, rb.limit-held, own, "the room left is less than a buffer of the message's size (%d B)", own)
	q.drop()
	assert.Zero(t, rb.used.Load())
}

// TestRecvQueueFirstSmallMessageNearBudget: a new stream's first small
// message, with the connection's budget nearly spent, is admitted when
// its bytes fit, though the pool's buffer for the byte queue is larger
// than what is left (it used to be counted whole and the message
// refused); it is refused when even its own bytes do not fit.
func TestRecvQueueFirstSmallMessageNearBudget(t *testing.T) {
	rb := &recvBudget{limit: 1000}
	rb.used.Store(900) // other streams' messages
	var q recvQueue
	q.init(64)
	q.rb = rb
	presetSmall(&q, 16<<10) // what the pool handed back: 16 KiB, not yet counted
	require.Equal(t, admitOK, q.push([]byte("first"), 64))
	assert.Less(t, cap(q.small), 64, "a byte queue of the message's size")
	assert.Equal(t, int64(900+cap(q.small)), rb.used.Load(), "counted: its capacity")
	out := q.popLocked(nil)
	assert.Equal(t, "first", string(out))
	q.drop()
	assert.Equal(t, int64(900), rb.used.Load())

	rb.used.Store(995)
	var q2 recvQueue
	q2.init(64)
	q2.rb = rb
	presetSmall(&q2, 16<<10)
	assert.Equal(t, admitOverBudget, q2.push([]byte("0123456789"), 64), "5 bytes left: refused")
	assert.Equal(t, int64(995), rb.used.Load(), "nothing counted")
	assert.Nil(t, q2.sbuf, "the pool's buffer given back")
}

// TestRecvQueueMidSizeAtMostTwice: messages between 1 KiB and 32 KiB are
// held, and counted, at most at twice their size, whatever idle buffers
// the shared buffer pool has: with 20 KiB buffers idle there (as a
// process that handled 20 KiB messages has), 64 messages of 1100 B each
// were counted at 2.1 MiB, 30 times their bytes, and a stream of them hit
// its budget that much early.
func TestRecvQueueMidSizeAtMostTwice(t *testing.T) {
	for range 64 {
		pool.PutBuffer(&pool.Buffer{B: make([]byte, 0, 20<<10)})
	}
	for _, size := range []int{inlineMax + 1, 1100, 2048, 2049, 9000, 16<<10 + 1, pool.LargeBufferSize - 1} {
		rb := &recvBudget{limit: 64 << 20}
		var q recvQueue
		q.init(64)
		q.rb = rb
		presetSmall(&q, 64)
		for range 64 {
			require.Equal(t, admitOK, q.push(make([]byte, size), 64))
		}
		big := queueHeld(&q) - int64(cap(q.small))
		assert.LessOrEqual(t, big, int64(64*2*size), "%d B messages: their buffers at most twice their bytes", size)
		assert.Equal(t, queueHeld(&q), rb.used.Load(), "counted: what the queue holds")
		for range 64 {
			_ = q.popLocked(nil)
		}
		q.drop()
		assert.Zero(t, rb.used.Load())
	}
}

// TestRecvQueueSmallGrowsByWhatFits: a full byte queue grows by doubling,
// but when doubling would pass the budget and growing by what the message
// needs does not, it grows by that: a small message that fits is not
// refused (it was: 64 -> 128 B asked for 64 B more than the 30 B left).
func TestRecvQueueSmallGrowsByWhatFits(t *testing.T) {
	const limit = 1000
	rb := &recvBudget{limit: limit}
	rb.used.Store(limit - 64 - 30) // other streams; then this queue's 64 B
	var q recvQueue
	q.init(64)
	q.rb = rb
	presetSmall(&q, 64)
	msg := make([]byte, 16)
	for range 3 {
		require.Equal(t, admitOK, q.push(msg, 64))
	}
	require.Equal(t, 64, cap(q.small))
	require.Equal(t, int64(limit-30), rb.used.Load())
	require.Equal(t, admitOK, q.push(msg, 64), "16 B fit in the 30 B left")
	assert.LessOrEqual(t, rb.used.Load(), int64(limit))
	assert.Equal(t, queueHeld(&q)+limit-64-30, rb.used.Load(), "counted: what the queue holds")
	for range 4 {
		assert.Equal(t, msg, q.popLocked(nil))
	}
	q.drop()
	assert.Equal(t, int64(limit-64-30), rb.used.Load())
}
