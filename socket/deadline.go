package socket

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/protosocket-go/protosocket/internal/netfd"
	"github.com/protosocket-go/protosocket/internal/sched"
)

// readDeadline is the owner of the connection's read deadline: the code in
// this file is the only caller of SetReadDeadline (waitFirstByte, before
// the reader starts, sets it on a TLS connection's socket). One deadline
// serves four purposes, each with its own time (monoNow, clock.go; 0 when
// unarmed):
//
//   - the idle timeout (Options.IdleTimeout). On a TCP or Unix connection
//     it costs nothing per frame: every IdleTimeout/4 a check counts one
//     miss (frameDone resets the count), and the fifth check in a row with
//     no frame is the timeout, so a connection closes between 1 and 1¼ ×
//     IdleTimeout after its last frame. (time.Now costs about 200 ns on
//     this project's VMs, where the clock is not read in user space: a
//     call per frame was a measurable share of a round trip.) On other
//     connections (TLS, pipes), whose reads block inside the frame.Reader,
//     the deadline is refreshed as frames arrive, at most every
//     IdleTimeout/8: they close between 7/8 and 1 × IdleTimeout after the
//     last frame;
//   - the frame timer (Options.FrameTimeout): armed when the reader has to
//     wait in the middle of a frame, disarmed (lazily: no system call) when
//     a frame completes;
//   - the move timer (internal/sched, move.go): armed when a reader whose
//     stack grew is about to wait;
//   - Drain's wake-up: a deadline in the past, set from Drain's goroutine
//     after it set stopped.
//
// The deadline set is the earliest armed time. When it passes, fired tells
// which purpose is due; a deadline that passed with none due (a frame
// that completed since) is stale: the next one is set and the wait goes
// on. Every field is the reader goroutine's (and, once it exited, the
// finishing goroutine's); only wakeReader runs elsewhere. The rule that
// keeps Drain's wake-up from being lost: the reader checks stopped after
// every deadline it sets (setDeadline returns it), and Drain sets stopped
// before its deadline, so either the reader sees stopped or Drain's
// deadline comes last.
type readDeadline struct {
	idleAt  int64 // the next idle check (TCP, Unix), or the idle deadline (other connections)
	moveAt  int64 // the move timer
	frameAt int64 // the frame timer: the started frame must be complete by then
	setAt   int64 // the deadline the reader last set (0: none)
}

// fired is what a deadline error meant (see readDeadline.fired).
type fired uint8

const (
	firedNone  fired = iota // not a deadline error, or reading must stop: the error ends reading
	firedStale              // no purpose due: the next deadline is set, wait again
	firedMove               // the move timer: move to a fresh goroutine (or, mid-read, read again)
	firedFrame              // the frame timer: ErrFrameTimeout
	firedIdle               // the idle timeout: ErrIdleTimeout
)

// idleChecks is how many idle checks in a row (IdleTimeout/idleChecks
// apart) may find no frame; the next one is the idle timeout.
const idleChecks = 4

// nextDeadline is the earliest armed time, 0 if none is.
func (c *Conn) nextDeadline() int64 {
	next := c.rd.idleAt
	for _, t := range [2]int64{c.rd.moveAt, c.rd.frameAt} {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	return next
}

// setDeadline sets the read deadline to at (0: none) unless it is set
// already, and reports whether reading must stop (see readDeadline).
func (c *Conn) setDeadline(at int64) (stop bool) {
	if at != c.rd.setAt {
		var d time.Time
		if at != 0 {
			d = monoTime(at)
		}
		_ = c.nc.SetReadDeadline(d)
		c.rd.setAt = at
	}
	return c.stopped.Load()
}

// armIdle arms the idle timeout when the reader starts (IdleTimeout set):
// the first check on a TCP or Unix connection, else the deadline. stop:
// reading must end.
func (c *Conn) armIdle(now int64) (stop bool) {
	idle := int64(c.opts.IdleTimeout)
	if c.nb != nil {
		c.rd.idleAt = now + idle/idleChecks
	} else {
		c.rd.idleAt = now + idle
	}
	return c.setDeadline(c.nextDeadline())
}

// refreshIdle moves the idle deadline of a connection without the
// non-blocking reader to now + IdleTimeout if the last refresh is more
// than IdleTimeout/8 old. stop: reading must end.
func (c *Conn) refreshIdle(now int64) (stop bool) {
	idle := int64(c.opts.IdleTimeout)
	if now-(c.rd.idleAt-idle) <= idle/8 {
		return false
	}
	c.rd.idleAt = now + idle
	return c.setDeadline(c.nextDeadline())
}

// armMove sets the move timer to now + sched.MoveDelay() (nothing when
// moving is off). stop: reading must end.
//
//go:noinline
func (c *Conn) armMove(now int64) (stop bool) {
	d := sched.MoveDelay()
	if d <= 0 {
		return false
	}
	c.rd.moveAt = now + d
	return c.setDeadline(c.nextDeadline())
}

// armFrame arms the frame timer for the frame the reader is in the middle
// of, unless it is armed or FrameTimeout is off. When an earlier deadline
// is set it makes no system call: fired sets the frame timer's deadline
// when that one passes. stop: reading must end.
//
//go:noinline
func (c *Conn) armFrame(now int64) (stop bool) {
	ft := int64(c.opts.FrameTimeout)
	if ft <= 0 || c.rd.frameAt != 0 {
		return false
	}
	c.rd.frameAt = now + ft
	if c.rd.setAt != 0 && c.rd.setAt <= c.rd.frameAt {
		return c.stopped.Load()
	}
	return c.setDeadline(c.nextDeadline())
}

// frameDone runs for each frame: it resets the idle misses and disarms
// the frame timer. The deadline the frame timer set, if any, stays until
// it passes (stale) or is replaced.
func (c *Conn) frameDone() {
	c.idleMisses = 0
	if c.rd.frameAt != 0 {
		c.rd.frameAt = 0
	}
}

// fired tells what err, the error of a read or a wait at time now, means.
// For the move timer and a stale deadline it sets the next deadline; the
// move timer is disarmed.
//
//go:noinline
func (c *Conn) fired(err error, now int64) fired {
	if !errors.Is(err, os.ErrDeadlineExceeded) || c.stopped.Load() {
		return firedNone
	}
	if c.rd.frameAt != 0 && now >= c.rd.frameAt {
		return firedFrame
	}
	if c.rd.idleAt != 0 && now >= c.rd.idleAt {
		if c.nb == nil || c.idleMisses >= idleChecks {
			return firedIdle
		}
		c.idleMisses++
		c.rd.idleAt = now + int64(c.opts.IdleTimeout)/idleChecks
	}
	kind := firedStale
	if c.rd.moveAt != 0 && now >= c.rd.moveAt {
		c.rd.moveAt = 0
		kind = firedMove
	}
	c.rd.setAt = -1 // the deadline passed: set the next one even if it is the same time
	if c.setDeadline(c.nextDeadline()) {
		return firedNone // stopped meanwhile: the error ends reading
	}
	return kind
}

// deadlineErr maps a read deadline error that ends reading to the
// connection's error: ErrFrameTimeout when the frame timer passed at now
// (monoNow), else ErrIdleTimeout when IdleTimeout is set. ok is false for
// other errors.
func (c *Conn) deadlineErr(err error, now int64) (_ error, ok bool) {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, false
	}
	if c.rd.frameAt != 0 && now >= c.rd.frameAt {
		return ErrFrameTimeout, true
	}
	if c.opts.IdleTimeout > 0 {
		return ErrIdleTimeout, true
	}
	return nil, false
}

// wakeReader is Drain's wake-up: a deadline in the past ends the reader's
// wait or read. Call it after setting stopped (see readDeadline). It runs
// on Drain's goroutine and touches none of the reader's fields.
func (c *Conn) wakeReader() { _ = c.nc.SetReadDeadline(time.Unix(1, 0)) }

// waitFirstByte waits, holding no handshake slot, until the peer of a TLS
// server connection has sent its first byte (the start of its ClientHello),
// for at most FirstByteTimeout (and HandshakeTimeout, if shorter): a
// connection that stays silent ends with ErrHandshakeTimeout having held
// no slot. The byte is peeked, not read, for the handshake to read.
// raw is the TCP connection under the *tls.Conn. Without a raw socket
// (netfd.Supported false, or not a TCP or Unix connection) it returns nil
// at once and the slot is taken as before.
func (c *Conn) waitFirstByte(raw net.Conn) error {
	d := min(c.opts.FirstByteTimeout, c.opts.HandshakeTimeout)
	rc := netfd.RawConn(raw)
	if c.opts.FirstByteTimeout <= 0 || rc == nil {
		return nil
	}
	_ = raw.SetReadDeadline(time.Now().Add(d))
	defer func() { _ = raw.SetReadDeadline(time.Time{}) }()
	if c.stopped.Load() { // Drain's wake-up may have come before our deadline
		return ErrClosed
	}
	b := new(byte)
	err := rc.Read(func(fd uintptr) bool { return netfd.Peek(fd, b) != netfd.ErrAgain })
	switch {
	case c.stopped.Load():
		return ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrHandshakeTimeout
	}
	return err // nil: data, EOF or an error, which the handshake reads
}
