package socket

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/internal/sched"
)

// deadlineConn records the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []int64 // monoNow times; 0 for none
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		d.set = append(d.set, 0)
	} else if t.Before(monoBase) { // a time in the past (Drain's wake-up): as set
		d.set = append(d.set, t.UnixNano())
	} else {
		d.set = append(d.set, int64(t.Sub(monoBase))+1)
	}
	return nil
}

// deadlineTestConn is a Conn with only what the deadline's owner uses;
// nb marks it a TCP connection (the idle checks) rather than a blocking
// one (the refreshed idle deadline).
func deadlineTestConn(idle, frame time.Duration) (*Conn, *deadlineConn) {
	dc := &deadlineConn{}
	return &Conn{nc: dc, opts: &Options{IdleTimeout: idle, FrameTimeout: frame}, nb: &nbReader{}}, dc
}

var errDeadline = os.ErrDeadlineExceeded

const sec = int64(time.Second)

// The read deadline's owner (deadline.go), one interleaving at a time,
// with the clock passed in.
func TestReadDeadlineOwner(t *testing.T) {
	defer sched.SetMoveDelay(100 * time.Millisecond)()
	const t0 = 1000 * sec

	t.Run("blocking connection: idle refresh at most every idle/8", func(t *testing.T) {
		c, dc := deadlineTestConn(8*time.Second, -1)
		c.nb = nil
		assert.False(t, c.armIdle(t0))
		assert.False(t, c.refreshIdle(t0+sec)) // within idle/8: no system call
		assert.False(t, c.refreshIdle(t0+sec+1))
		assert.Equal(t, []int64{t0 + 8*sec, t0 + 9*sec + 1}, dc.set)
		assert.Equal(t, firedIdle, c.fired(errDeadline, t0+9*sec+1))
	})

	t.Run("TCP: idle after five checks without a frame, none per frame", func(t *testing.T) {
		c, dc := deadlineTestConn(8*time.Second, -1)
		assert.False(t, c.armIdle(t0))
		at := t0 + 2*sec
		for range idleChecks {
			assert.Equal(t, firedStale, c.fired(errDeadline, at))
			at += 2 * sec
		}
		c.frameDone() // a frame: the misses start again
		for range idleChecks {
			assert.Equal(t, firedStale, c.fired(errDeadline, at))
			at += 2 * sec
		}
		assert.Equal(t, firedIdle, c.fired(errDeadline, at), "the fifth check in a row with no frame")
		assert.Len(t, dc.set, 1+2*idleChecks, "one deadline per check, none per frame")
	})

	t.Run("move timer before the idle deadline, then idle comes back", func(t *testing.T) {
		c, dc := deadlineTestConn(8*time.Second, -1)
		c.armIdle(t0)
		assert.False(t, c.armMove(t0))
		moveAt := t0 + int64(100*time.Millisecond)
		assert.Equal(t, firedMove, c.fired(errDeadline, moveAt))
		assert.Equal(t, int64(0), c.rd.moveAt, "disarmed")
		assert.Equal(t, []int64{t0 + 2*sec, moveAt, t0 + 2*sec}, dc.set)
		c.idleMisses = idleChecks
		assert.Equal(t, firedIdle, c.fired(errDeadline, t0+2*sec))
		err, ok := c.deadlineErr(errDeadline, t0+2*sec)
		assert.True(t, ok)
		assert.Equal(t, ErrIdleTimeout, err)
	})

	t.Run("idle due before the move timer wins", func(t *testing.T) {
		c, _ := deadlineTestConn(200*time.Millisecond, -1)
		c.armIdle(t0)
		c.armMove(t0)
		c.idleMisses = idleChecks
		assert.Equal(t, firedIdle, c.fired(errDeadline, t0+int64(50*time.Millisecond)))
	})

	t.Run("no move timer when moving is off", func(t *testing.T) {
		defer sched.SetMoveDelay(0)()
		c, dc := deadlineTestConn(-1, -1)
		assert.False(t, c.armMove(t0))
		assert.Empty(t, dc.set)
	})

	t.Run("frame timer: armed once per frame, fires as ErrFrameTimeout", func(t *testing.T) {
		c, dc := deadlineTestConn(-1, 30*time.Second)
		assert.False(t, c.armFrame(t0))
		assert.False(t, c.armFrame(t0+sec), "armed already: no second deadline")
		assert.Equal(t, []int64{t0 + 30*sec}, dc.set)
		assert.Equal(t, firedFrame, c.fired(errDeadline, t0+30*sec))
	})

	t.Run("a completed frame's deadline is stale: the next one is set", func(t *testing.T) {
		c, dc := deadlineTestConn(4*time.Minute, 30*time.Second)
		c.armIdle(t0)
		c.armFrame(t0)
		c.frameDone()
		// The next frame starts later: an earlier deadline is set, so
		// arming it costs no system call.
		c.armFrame(t0 + 10*sec)
		assert.Equal(t, []int64{t0 + 60*sec, t0 + 30*sec}, dc.set)
		assert.Equal(t, firedStale, c.fired(errDeadline, t0+30*sec), "the first frame completed")
		assert.Equal(t, t0+40*sec, dc.set[len(dc.set)-1], "the second frame's timer is set")
		assert.Equal(t, firedFrame, c.fired(errDeadline, t0+40*sec))
		err, _ := c.deadlineErr(errDeadline, t0+40*sec)
		assert.Equal(t, ErrFrameTimeout, err)
	})

	t.Run("Drain's wake-up is not lost to a refresh or an arm", func(t *testing.T) {
		for name, reader := range map[string]func(c *Conn) bool{
			"idle":  func(c *Conn) bool { return c.armIdle(t0) },
			"move":  func(c *Conn) bool { return c.armMove(t0) },
			"frame": func(c *Conn) bool { return c.armFrame(t0) },
		} {
			c, dc := deadlineTestConn(time.Second, 30*time.Second)
			// Drain: stopped, then the past deadline; the reader's set
			// lands after it and would replace it, so the reader must
			// see stopped.
			c.stopped.Store(true)
			c.wakeReader()
			assert.True(t, reader(c), name)
			assert.Equal(t, int64(time.Second), dc.set[0], name)
			// And a deadline error seen after stopped ends reading.
			assert.Equal(t, firedNone, c.fired(errDeadline, t0), name)
		}
	})

	t.Run("other errors are not deadlines", func(t *testing.T) {
		c, _ := deadlineTestConn(time.Second, time.Second)
		assert.Equal(t, firedNone, c.fired(os.ErrClosed, t0))
		_, ok := c.deadlineErr(os.ErrClosed, t0)
		assert.False(t, ok)
	})
}
