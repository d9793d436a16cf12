package socket

import (
	"sync/atomic"

	"github.com/protosocket-go/protosocket/pool"
)

// writeToken is the right to use the connection's writer side: the
// writer state c.w (its frame.Writer and item slices) and the outbound
// queue's receiver. Exactly one goroutine holds it at a time; only the
// holder touches them (under the psdebug tag, Conn.writer panics
// otherwise). The holders:
//
//   - tokenWriter: the writer goroutine (writeLoop), started by the send
//     that took the token, gone when the queue is empty;
//   - tokenReader: the reader writing its batch of replies itself
//     (pushReplies), when no writer goroutine runs;
//   - tokenIdle: dropIdleQueue, letting go of an idle queue;
//   - tokenFinal: Drain, a Disconnect, or finish, which take it for good
//     (acquire): no writer runs or starts afterwards.
//
// Handing over: a holder that found the queue empty releases the token and
// then asks the queue whether anything is pending (spillway's
// Receiver.Pending: a lane marked ready); a send queues (marking its lane
// ready) and then tries to take the token. Both are sequentially
// consistent atomics, so one of them sees the other: a message queued as
// the holder lets go is never left without a writer. Conn.queued, which a
// send raises before it queues and a holder lowers when it takes, is for
// Stats, dropIdleQueue and Drain, and never dips below zero.
//
// wake is the channel of the goroutine that takes the token for good: a
// holder that releases the token signals it, and once Drain holds the
// token for good, every send that finishes signals it (sendDone), so
// Drain waits for sends in flight on it instead of polling.
type writeToken struct {
	held atomic.Bool
	who  atomic.Uint32 // the holder's kind, kept under psdebug only
	wake atomic.Pointer[chan struct{}]
}

// Holder kinds (see writeToken).
const (
	tokenNone uint32 = iota
	tokenWriter
	tokenReader
	tokenIdle
	tokenFinal
)

var tokenNames = [...]string{"nobody", "the writer goroutine", "the reader", "dropIdleQueue", "Drain/finish"}

// take takes the token if nobody holds it.
func (t *writeToken) take(who uint32) bool {
	if t.held.Load() || !t.held.CompareAndSwap(false, true) {
		return false
	}
	if pool.Debug {
		t.who.Store(who)
	}
	return true
}

// release lets go of the token. The caller then looks whether anything is
// pending (see writeToken) and signals the waiter with signal.
func (t *writeToken) release(who uint32) {
	if pool.Debug {
		if got := t.who.Swap(tokenNone); got != who {
			panic("socket: write token released by " + tokenNames[who] + " while held by " + tokenNames[got])
		}
	}
	t.held.Store(false)
}

// acquire takes the token for good, waiting for its holder to let go.
func (t *writeToken) acquire() {
	if t.take(tokenFinal) {
		return
	}
	ch := make(chan struct{}, 1)
	t.wake.Store(&ch)
	// A holder stores held=false before it loads wake (signal); we store
	// wake before we try to take it: one of us sees the other.
	for !t.take(tokenFinal) {
		<-ch
	}
}

// waiter returns the wake channel, making it if acquire did not (it had
// not to wait). Only the holder for good calls it.
func (t *writeToken) waiter() chan struct{} {
	if p := t.wake.Load(); p != nil {
		return *p
	}
	ch := make(chan struct{}, 1)
	t.wake.Store(&ch)
	return ch
}

// signal wakes the goroutine waiting in acquire or waitSignal, if any.
func (t *writeToken) signal() {
	if p := t.wake.Load(); p != nil {
		select {
		case *p <- struct{}{}:
		default:
		}
	}
}

// mustHold panics under psdebug when the token is not held: the writer
// state is being used by a goroutine without the right to.
func (t *writeToken) mustHold() {
	if pool.Debug && !t.held.Load() {
		panic("socket: writer state used without the write token")
	}
}
