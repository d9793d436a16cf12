package rpc

import (
	"sync/atomic"
	"time"
)

// This file owns what one connection may hold of the server's shared
// resources (#22, docs/memory.md): its share of the worker pool, the bytes
// of its request copies, and the default time a reply may take to be
// written.

// Defaults of the per-connection budgets (ServerOptions).
const (
	// DefaultReplyTimeout is ServerOptions.ReplyTimeout's default: a
	// server connection whose peer does not read its replies is closed
	// after it (socket.ErrWriteTimeout, counted in ServerStats.WriteTimeouts).
	DefaultReplyTimeout = 10 * time.Second
	// DefaultConnRequestBytes is ServerOptions.MaxConnRequestBytes's
	// default: 64 MiB of request copies per connection (16 requests of
	// the default maximum frame size).
	DefaultConnRequestBytes = 64 << 20
	// DefaultServerRequestBytes is ServerOptions.MaxServerRequestBytes's
	// default: 256 MiB of request copies for all connections together.
	DefaultServerRequestBytes = 256 << 20
	// DefaultConnStreamBytes is ServerOptions.MaxConnStreamBytes's
	// default: 64 MiB of stream messages buffered per connection.
	DefaultConnStreamBytes = 64 << 20
	// connWorkersDivisor gives ServerOptions.ConnWorkers's default,
	// Workers/connWorkersDivisor: one connection holds at most a quarter
	// of the pool, so three connections with slow calls still leave room.
	connWorkersDivisor = 4
)

// budgetDefaults fills the budget fields of o left zero (ensureDefaults
// calls it after Workers is set).
func (o *ServerOptions) budgetDefaults() {
	if o.ConnWorkers == 0 {
		o.ConnWorkers = max(1, o.Workers/connWorkersDivisor)
	}
	if o.ReplyTimeout == 0 {
		o.ReplyTimeout = DefaultReplyTimeout
	}
	if o.ReplyTimeout > 0 && o.Socket.WriteTimeout == 0 {
		o.Socket.WriteTimeout = o.ReplyTimeout
	}
	if o.MaxConnRequestBytes == 0 {
		o.MaxConnRequestBytes = DefaultConnRequestBytes
	}
	if o.MaxServerRequestBytes == 0 {
		o.MaxServerRequestBytes = DefaultServerRequestBytes
	}
	if o.MaxConnStreamBytes == 0 {
		o.MaxConnStreamBytes = DefaultConnStreamBytes
	}
}

// validateBudget checks the budget fields (ServerOptions.Validate).
func (o ServerOptions) validateBudget() error {
	if o.ConnWorkers < 0 || o.ConnWorkers > 1<<16 {
		return &OptionError{"ConnWorkers", int64(o.ConnWorkers), "must be 0..65536"}
	}
	return nil
}

// takeWorkerLocked takes one of the connection's ConnWorkers for a new
// Pooled call if one is free (the call then goes straight to the pool);
// false sends the call through dispatchPooled. sc.mu is held.
func (sc *serverConn) takeWorkerLocked() bool {
	if sc.workersHeld < sc.srv.opts.ConnWorkers && sc.backHead == len(sc.backlog) {
		sc.workersHeld++
		return true
	}
	return false
}

// dispatchPooled hands a set-up Pooled call to the worker pool if its
// connection holds fewer than ConnWorkers workers (running or queued for
// one); otherwise the call waits in the connection's own backlog, in
// arrival order, and one of the connection's workers runs it next
// (finishNext). So one connection's slow calls hold at most ConnWorkers
// workers and never the queue in front of the others' calls.
func (sc *serverConn) dispatchPooled(c *serverCall) {
	sc.mu.Lock()
	if sc.workersHeld < sc.srv.opts.ConnWorkers {
		sc.workersHeld++
		sc.mu.Unlock()
		sc.srv.dispatch(c)
		return
	}
	sc.backlog = append(sc.backlog, c)
	sc.mu.Unlock()
}

// finishNext finishes c, a Pooled call its worker ran, and returns the
// connection's next waiting Pooled call for that worker, or nil.
func (sc *serverConn) finishNext(c *serverCall) *serverCall {
	sc.mu.Lock()
	sc.finishLocked(c)
	next := sc.nextPooledLocked()
	bye := sc.disconnectLocked() // nil while next is in flight
	sc.mu.Unlock()
	if bye != nil {
		bye()
	}
	return next
}

// nextPooledLocked returns the connection's next waiting Pooled call, to
// run on the worker that just finished one of its calls, or nil, giving
// the worker back to the pool. sc.mu is held.
func (sc *serverConn) nextPooledLocked() *serverCall {
	if sc.backHead < len(sc.backlog) {
		c := sc.backlog[sc.backHead]
		sc.backlog[sc.backHead] = nil
		sc.backHead++
		if sc.backHead == len(sc.backlog) {
			sc.backlog, sc.backHead = sc.backlog[:0], 0
		}
		return c
	}
	sc.workersHeld--
	return nil
}

// abandonPooled ends c, a call that will never run (the server is
// closing), and with it the calls waiting behind it on its connection.
func (sc *serverConn) abandonPooled(c *serverCall) {
	for c != nil {
		c = sc.finishNext(c)
	}
}

// reserveReqLocked takes n bytes of request copy for a call from the
// connection's and the server's budgets, or reports false (the call is
// refused, not processed). sc.mu is held.
func (sc *serverConn) reserveReqLocked(n int) bool {
	s := sc.srv
	if lim := s.opts.MaxConnRequestBytes; lim > 0 && sc.reqBytes+int64(n) > lim {
		return false
	}
	if lim := s.opts.MaxServerRequestBytes; lim > 0 {
		if s.reqBytes.Add(int64(n)) > lim {
			s.reqBytes.Add(-int64(n))
			return false
		}
	}
	sc.reqBytes += int64(n)
	return true
}

// releaseReqLocked gives back what reserveReqLocked took for c. sc.mu
// is held.
func (sc *serverConn) releaseReqLocked(c *serverCall) {
	if n := c.reqHeld; n > 0 {
		sc.reqBytes -= int64(n)
		if sc.srv.opts.MaxServerRequestBytes > 0 {
			sc.srv.reqBytes.Add(-int64(n))
		}
		c.reqHeld = 0
	}
}

// recvBudget counts the bytes of stream messages a connection's server
// streams hold queued for their handlers (ServerOptions.MaxConnStreamBytes).
type recvBudget struct {
	used  atomic.Int64
	limit int64
}

type admitResult uint8

const (
	admitOK         admitResult = iota
	admitOverCredit             // beyond the stream's credit: a protocol error
	admitOverBudget             // beyond the connection's byte budget
)

// admit queues a copy of a received stream message (reader goroutine),
// counting its bytes against the connection's budget (recvq.go).
func (s *streamCore) admit(payload []byte) admitResult { return s.q.push(payload, s.window) }
