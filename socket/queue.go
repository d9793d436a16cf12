package socket

import (
	"errors"

	"github.com/protosocket-go/protosocket/spillway"
)

// The outbound queue's lifecycle: a connection makes its spillway queue on
// the first NewSender and lets go of it once every Sender closed and it is
// written (an idle connection holds none); finish closes it for good,
// handing what is left to the failure callbacks.

// queue is a connection's outbound spillway queue.
type queue struct {
	root *spillway.Sender[item]
	rx   *spillway.Receiver[item]
}

// closedQueue stands in for the queue of a finished connection: its
// receiver is closed, so every send on it fails.
var closedQueue = func() *queue {
	root, rx := spillway.New(spillway.Options[item]{Lanes: 1, LaneCapacity: 1})
	rx.Close(nil)
	return &queue{root: root, rx: rx}
}()

// queue returns the outbound queue, making it on first use: a connection
// that never sends holds none.
func (c *Conn) queue() *queue {
	if q := c.q.Load(); q != nil {
		return q
	}
	o := c.opts
	root, rx := spillway.New(spillway.Options[item]{
		Lanes:        o.Lanes,
		LaneCapacity: o.QueueMessages,
		MaxWeight:    max(o.QueueBytes, 0),
		Weight:       itemWeight,
		FailWhenFull: o.FailWhenFull,
	})
	if c.q.CompareAndSwap(nil, &queue{root: root, rx: rx}) {
		return c.q.Load()
	}
	rx.Close(nil) // lost the race (or the connection finished)
	root.Close()
	return c.q.Load()
}

func (c *Conn) handback(it item) {
	c.queued.Add(-1)
	c.failItem(&it, wrapClosed(c.causeErr()))
}

// NewSender returns a Sender on the next lane. onFail, if non-nil, is
// called for each of its messages that was queued (the send returned nil)
// but not written; nil means Options.OnSendFailure. Close it when done.
// A Sender is meant to last (one per sending goroutine, or one shared):
// the connection lets go of its queue when its last Sender closes, so
// making and closing a connection's only Sender per message remakes the
// queue each time.
func (c *Conn) NewSender(onFail func(Failure)) *Sender {
	if onFail == nil {
		onFail = c.opts.OnSendFailure
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.senders.Add(1)
	return &Sender{q: c.queue().root.Clone(), c: c, onFail: onFail}
}

// Close releases the Sender's hold on the queue. Messages already queued
// are still written. Once every Sender of a connection is closed and the
// queue is written, the connection lets go of its queue (an idle
// connection holds none; the next NewSender makes another).
func (s *Sender) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.q.Close()
	if s.c.senders.Add(-1) == 0 {
		s.c.dropIdleQueue()
	}
}

// dropIdleQueue lets go of the outbound queue when no Sender is open and
// nothing is queued, being sent or being written. A writer that finds no
// Sender open when it exits calls it too.
func (c *Conn) dropIdleQueue() {
	if c.senders.Load() != 0 || c.queued.Load() != 0 || c.wt.held.Load() {
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.q.Load()
	if q == nil || q == closedQueue || c.senders.Load() != 0 || c.queued.Load() != 0 || c.sending.Load() != 0 {
		return
	}
	// Hold the write token, so no writer takes from the queue meanwhile.
	if !c.wt.take(tokenIdle) {
		return // the holder drops it when it lets go
	}
	if c.q.CompareAndSwap(q, nil) { // else finish took it
		q.rx.Close(c.handback) // empty; were a value left, it would be reported, not lost
		q.root.Close()
	}
	c.wt.release(tokenIdle)
	c.wt.signal()
}

// queueErr maps a spillway error to the socket's.
func (c *Conn) queueErr(err error) error {
	switch {
	case errors.Is(err, spillway.ErrFull):
		return ErrBackpressure
	case errors.Is(err, spillway.ErrClosed), errors.Is(err, spillway.ErrSenderClosed):
		return wrapClosed(c.causeErr())
	}
	return err
}
