package rpc

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"

	"github.com/protosocket-go/protosocket/pool"
)

// This file owns a stream's receive queue: the messages the connection's
// reader has taken off the wire for one stream and its Recv has not yet
// read, how many there are (the stream credit), and the bytes they count
// against the connection's MaxConnStreamBytes budget (server streams).
//
// Per message the reader takes the queue's lock once and the receiver
// takes it once; nothing else is per message in steady state: small
// messages are copied into one reused byte queue (no pooled buffer each),
// the receiver is woken only when it waits, and the budget's shared
// counter is given back in batches (see releaseBytes).
//
// The budget counts what the queue holds: the capacity of its byte queue
// (small messages, and the length prefixes of all) whenever it changes,
// and the capacity of each large message's buffer (at most twice its
// size, getMsgBuffer; counting the message's length let a peer hold
// nearly twice the budget, and up to 30 times for 1-2 KiB messages in
// buffers from the calibrating pool). So the bytes a peer's messages hold, spare room included, are
// within the budget (TestAttackStreamSmallMessagesBoundedInBytes,
// TestAttackStreamLargeMessagesBoundedByCapacity). Near the budget's end
// a message that fits is not refused because the pool's buffer for it
// (or for a new stream's byte queue) is larger than what is left: it gets
// one of its own size instead (bigBuffer, room), an allocation only then.

const (
	// inlineMax is the largest message copied into the queue's shared
	// byte slice; a larger one gets a pooled buffer of its own, so the
	// shared slice stays within StreamWindow x inlineMax bytes (and its
	// capacity is counted in the budget).
	inlineMax = 1024
	// releaseBytes bounds the bytes a stream's receiver has read but not
	// yet given back to the connection's budget: it gives them back
	// whenever they reach releaseBytes, at every credit grant, before it
	// waits for a message, and when its handler returns. So the budget
	// over-counts a connection's buffered bytes by less than releaseBytes
	// per stream (a stream ends with CodeResourceExhausted at most that
	// much early) and never under-counts them: the peer never holds more
	// than MaxConnStreamBytes. (TestRecvQueueBudgetSlack.)
	releaseBytes = 64 << 10
	// keepBytes is the least a stream keeps of its byte slice once its
	// queue is empty (keepFor): a larger one goes back to the buffer
	// pool, so a stream that once queued a burst (up to StreamWindow x
	// inlineMax) does not hold it, uncounted, while idle. 2 KiB keeps a
	// window of 64 small messages (16 B: 1.1 KiB) without touching the
	// pool.
	keepBytes = 2 << 10
	// keepPerMessage is what keepFor allows per message of the window:
	// a full window of 16-30 B messages (each with its one-byte length)
	// stays in the kept slice. With a window of 256 and 16 B messages the
	// slice grows to about 4.5 KiB; given back at every empty queue (the
	// 2 KiB rule alone) it was taken from the pool and grown again, 0.02-
	// 0.06 allocations per message (rpcbench -parts bidi -stream-inflight
	// 256, psbench -scenario pipelined -concurrency 256; bench/README
	// "#18 third round"; TestStreamAllocsWindow256).
	keepPerMessage = 32
)

// keepFor is the most a stream of the given window keeps of its byte
// slice while its queue is empty: keepBytes, or keepPerMessage per
// message of a larger window (8 KiB at 256; the window is the stream's
// own setting, so is what it may hold while idle).
func keepFor(window int) int { return max(keepBytes, window*keepPerMessage) }

// recvQueue is a stream's received messages, in order. The connection's
// reader pushes; one Recv at a time pops.
type recvQueue struct {
	mu sync.Mutex
	// small holds the queued messages from offset r: each is
	// uvarint(n<<1) and its n bytes, or uvarint(n<<1|1) for a message
	// of n bytes held in big (from offset bigR).
	small   []byte
	sbuf    *pool.Buffer // small's pooled holder (nil until the first small message)
	r       int
	big     []*pool.Buffer
	bigR    int
	n       int   // messages queued
	closed  bool  // no more messages: err is why
	err     error // written before closed
	done    bool  // the server handler returned: drop what comes
	waiting bool  // the receiver is (about to be) parked on wake
	wake    chan struct{}
	keep    int // keepFor(window)

	// The connection's budget (server streams; nil on clients): held
	// bytes are queued (scap of them small's capacity), freed bytes were
	// read (or small's capacity given up) and are still counted.
	rb    *recvBudget
	held  int64
	freed int64
	scap  int
}

// init makes the queue of a stream whose credit window is window.
func (q *recvQueue) init(window int) {
	q.wake = make(chan struct{}, 1)
	q.keep = keepFor(window)
}

// push queues a copy of payload (reader goroutine) if fewer than window
// messages are queued and the connection's budget takes its bytes.
func (q *recvQueue) push(payload []byte, window int) admitResult {
	var pending int64
	q.mu.Lock()
	r := q.pushLocked(payload, window, &pending)
	q.endPushLocked(pending)
	q.mu.Unlock()
	return r
}

// pushLocked is push under q.mu, for one message of a run of them: the
// bytes it admits are added to *pending, for endPushLocked to count
// against the budget once. The budget check counts them already: only
// the connection's reader adds to the budget, so used+pending is exact
// or over (receivers only give back).
func (q *recvQueue) pushLocked(payload []byte, window int, pending *int64) admitResult {
	if q.done { // the handler returned: no one will read it
		return admitOK
	}
	if q.closed || q.n >= window { // after the end, or over the credit
		return admitOverCredit
	}
	n := len(payload)
	if n <= inlineMax {
		if !q.room(binary.MaxVarintLen32+n, pending) {
			return admitOverBudget
		}
		q.small = binary.AppendUvarint(q.small, uint64(n)<<1)
		q.small = append(q.small, payload...)
	} else {
		if !q.room(binary.MaxVarintLen32, pending) {
			return admitOverBudget
		}
		b := q.bigBuffer(payload, pending)
		if b == nil {
			return admitOverBudget
		}
		q.small = binary.AppendUvarint(q.small, uint64(n)<<1|1)
		if q.bigR > 0 && len(q.big) == cap(q.big) {
			k := copy(q.big, q.big[q.bigR:])
			clear(q.big[k:])
			q.big, q.bigR = q.big[:k], 0
		}
		q.big = append(q.big, b)
	}
	q.n++
	return admitOK
}

// bigBuffer returns a copy of a large message (over inlineMax) in a
// buffer of its own, its capacity counted against the budget in *pending
// (the buffer holds its whole capacity, not the message's length: at most
// twice its size, see getMsgBuffer); nil when the budget cannot take it. When the pooled
// buffer is more than the budget has left, the message gets one of its
// own size instead (an allocation, only near the budget's end), so a
// message that fits is not refused for the pool's choice of buffer.
func (q *recvQueue) bigBuffer(payload []byte, pending *int64) *pool.Buffer {
	rb := q.rb
	if rb == nil {
		b := getMsgBuffer(len(payload))
		b.B = append(b.B[:0], payload...)
		return b
	}
	left := rb.limit - rb.used.Load() - *pending
	if int64(len(payload)) > left { // refused before any copy
		return nil
	}
	b := getMsgBuffer(len(payload))
	if c := cap(b.B); c >= len(payload) && int64(c) <= left {
		b.B = append(b.B[:0], payload...)
	} else {
		// The pooled buffer is more than the budget has left (or, over
		// pool.MaxBufferSize, not yet grown): one of the message's own
		// size. append rounds its capacity up to the allocator's size
		// class: what is counted is what was allocated.
		putMsgBuffer(b)
		b = &pool.Buffer{B: append([]byte(nil), payload...)}
		if int64(cap(b.B)) > left {
			return nil
		}
	}
	c := int64(cap(b.B))
	*pending += c
	q.held += c
	return b
}

// Mid-size messages (over inlineMax, under pool.LargeBufferSize) are
// copied into buffers of a power-of-two class (2 KiB to 32 KiB), pooled
// here, so a buffer is at most twice its message. pool.GetBuffer's
// calibrating pool, which serves that range elsewhere, hands out buffers
// of whatever size were put back (up to 32 KiB and beyond for a 1.1 KiB
// message): counted by capacity, a stream of 1-2 KiB messages reached its
// budget up to 30 times early. Large messages use pool.GetBufferFor, at
// most three quarter-power classes above their size, under twice it.
const (
	midMinShift = 11 // 2 KiB: the class of inlineMax+1
	midMaxShift = 15 // 32 KiB: pool.LargeBufferSize
)

// midBufs holds the mid-size classes' idle buffers, one pool per class.
var midBufs [midMaxShift - midMinShift + 1]sync.Pool

// getMsgBuffer returns an empty buffer with room for n (> inlineMax)
// bytes and at most twice that: a mid-size class's, or pool's large one.
func getMsgBuffer(n int) *pool.Buffer {
	if n >= pool.LargeBufferSize || pool.Debug {
		return pool.GetBufferFor(n)
	}
	e := max(bits.Len(uint(n-1)), midMinShift)
	if b, _ := midBufs[e-midMinShift].Get().(*pool.Buffer); b != nil {
		return b
	}
	return &pool.Buffer{B: make([]byte, 0, 1<<e)}
}

// putMsgBuffer takes back a buffer from getMsgBuffer (or one bigBuffer
// allocated at the message's size near the budget's end): a mid-size
// class's own capacity goes back to its class, any other to pool.
func putMsgBuffer(b *pool.Buffer) {
	c := cap(b.B)
	if pool.Debug || c < 1<<midMinShift || c > 1<<midMaxShift || c&(c-1) != 0 {
		pool.PutBuffer(b)
		return
	}
	b.B = b.B[:0]
	midBufs[bits.Len(uint(c))-1-midMinShift].Put(b)
}

// endPushLocked ends pushes under q.mu: it counts their pending bytes
// against the budget and wakes the receiver if it waits.
func (q *recvQueue) endPushLocked(pending int64) {
	if pending != 0 {
		q.rb.used.Add(pending)
	}
	q.signalLocked()
}

// runMax is the most messages a queueRun gathers before it queues them.
const runMax = 32

// runBufs holds the slices a queueRun gathers payloads in: one is taken
// per read batch that has a run, so a connection holds none between
// batches (its idle memory does not grow).
var runBufs = sync.Pool{New: func() any { s := make([][]byte, 0, runMax); return &s }}

// queueRun queues a run of messages for one stream, the frames of one
// read batch that follow each other for it (serverbatch.go,
// clientbatch.go): it gathers their payloads (views valid until the
// batch's OnBatch returns) and queues up to runMax of them under one lock
// of the queue, with one add to the budget's shared counter and one
// wake-up of the receiver. Reader goroutine only.
type queueRun struct {
	q      *recvQueue // nil: no run
	window int
	msgs   *[][]byte // from runBufs; kept for the batch's later runs
}

// begin starts a run for q.
func (r *queueRun) begin(q *recvQueue, window int) {
	r.q, r.window = q, window
	if r.msgs == nil {
		r.msgs = runBufs.Get().(*[][]byte)
	}
}

// add gathers payload; at runMax it queues the run so far (flush).
func (r *queueRun) add(payload []byte) admitResult {
	*r.msgs = append(*r.msgs, payload)
	if len(*r.msgs) >= runMax {
		return r.flush()
	}
	return admitOK
}

// flush queues the gathered messages in order under one lock; at the
// first one refused it stops (the rest are dropped: the stream ends
// for that refusal) and returns the verdict.
func (r *queueRun) flush() admitResult {
	ms := *r.msgs
	if len(ms) == 0 {
		return admitOK
	}
	q := r.q
	res := admitOK
	var pending int64
	q.mu.Lock()
	for _, p := range ms {
		if res = q.pushLocked(p, r.window, &pending); res != admitOK {
			break
		}
	}
	q.endPushLocked(pending)
	q.mu.Unlock()
	clear(ms)
	*r.msgs = ms[:0]
	return res
}

// end queues what the run gathered and ends it; the verdict is flush's.
func (r *queueRun) end() admitResult {
	res := r.flush()
	r.q = nil
	return res
}

// release gives the gathering slice back at the batch's end.
func (r *queueRun) release() {
	if r.msgs != nil {
		runBufs.Put(r.msgs)
		r.msgs = nil
	}
}

// room makes space for need more bytes in small: it reclaims the read
// part in front when that is enough, else grows small (doubling it). A
// change of small's capacity is counted against the budget in *pending;
// false (nothing changed but a pooled small given back) when the budget
// cannot take it.
func (q *recvQueue) room(need int, pending *int64) bool {
	if q.sbuf == nil {
		q.sbuf = pool.GetBuffer()
		q.small = q.sbuf.B[:0]
	}
	if q.r > 0 && cap(q.small)-len(q.small) < need {
		k := copy(q.small, q.small[q.r:])
		q.small, q.r = q.small[:k], 0
	}
	c := cap(q.small)
	if c-len(q.small) < need {
		c = max(2*c, len(q.small)+need)
	}
	if b := q.rb; b != nil && c != q.scap {
		d := int64(c - q.scap)
		left := b.limit - b.used.Load() - *pending
		if least := len(q.small) + need; d > left && q.scap != 0 && least < c && int64(least-q.scap) <= left {
			// Doubling would pass the budget, growing by what the message
			// needs does not: grow by that, so a message that fits is not
			// refused for the doubling.
			c, d = least, int64(least-q.scap)
		}
		if d > left {
			if q.n != 0 || q.scap != 0 {
				return false
			}
			// A pooled slice not counted yet, more than the budget has
			// left (the pool's buffers are as large as its recent ones):
			// give it back and take one of the size needed (an
			// allocation, only near the budget's end), so that a small
			// message that fits is not refused for the pool's choice.
			q.putSmall()
			ns := slices.Grow([]byte(nil), need) // the allocator's size class: what is held
			if int64(cap(ns)) > left {
				return false
			}
			q.sbuf, q.small = &pool.Buffer{B: ns}, ns
			c = cap(ns)
			d = int64(c)
		}
		*pending += d
		q.held += d
		q.scap = c
	}
	if c != cap(q.small) {
		ns := make([]byte, len(q.small), c)
		copy(ns, q.small)
		q.small = ns
	}
	return true
}

func (q *recvQueue) signalLocked() {
	if q.waiting {
		q.waiting = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// popLocked appends the first queued message to dst (q.n > 0).
func (q *recvQueue) popLocked(dst []byte) []byte {
	v, k := binary.Uvarint(q.small[q.r:])
	q.r += k
	n := int(v >> 1)
	if v&1 == 0 {
		dst = append(dst, q.small[q.r:q.r+n]...)
		q.r += n
	} else {
		b := q.big[q.bigR]
		q.big[q.bigR] = nil
		q.bigR++
		dst = append(dst, b.B...)
		if q.rb != nil { // its capacity was counted (bigBuffer)
			c := int64(cap(b.B))
			q.held -= c
			q.freed += c
		}
		putMsgBuffer(b)
	}
	q.n--
	if q.n == 0 { // empty: start over at the front
		q.small, q.r = q.small[:0], 0
		q.big, q.bigR = q.big[:0], 0
		if cap(q.small) > q.keep {
			q.putSmall()
		}
	}
	if q.rb != nil && q.freed >= releaseBytes {
		q.releaseLocked()
	}
	return dst
}

// putSmall gives small back to the pool (and its counted capacity to
// the bytes freed).
func (q *recvQueue) putSmall() {
	if q.sbuf != nil {
		q.sbuf.B = q.small[:0]
		pool.PutBuffer(q.sbuf)
	}
	q.sbuf, q.small, q.r = nil, nil, 0
	q.held -= int64(q.scap)
	q.freed += int64(q.scap)
	q.scap = 0
}

// releaseLocked gives the bytes read back to the connection's budget.
func (q *recvQueue) releaseLocked() {
	if q.freed > 0 {
		q.rb.used.Add(-q.freed)
		q.freed = 0
	}
}

// release is releaseLocked for the receiver at a credit grant.
func (q *recvQueue) release() {
	if q.rb == nil {
		return
	}
	q.mu.Lock()
	q.releaseLocked()
	q.mu.Unlock()
}

// close ends the queue with err (first call wins): Recv returns what is
// queued, then err.
func (q *recvQueue) close(err error) {
	q.mu.Lock()
	if !q.closed {
		q.closed, q.err = true, err
		q.signalLocked()
	}
	q.mu.Unlock()
}

// drop empties the queue for good (the server handler returned, or the
// client stream was released) and gives every byte it counted back to
// the budget.
func (q *recvQueue) drop() {
	q.mu.Lock()
	q.done = true
	for i := q.bigR; i < len(q.big); i++ {
		putMsgBuffer(q.big[i])
	}
	q.putSmall()
	q.big, q.bigR, q.n = nil, 0, 0
	if q.rb != nil {
		q.rb.used.Add(-(q.held + q.freed))
		q.held, q.freed = 0, 0
	}
	q.mu.Unlock()
}
