package socket

import (
	"errors"
	"net"
	"syscall"

	"github.com/protosocket-go/protosocket/internal/netfd"
	"github.com/protosocket-go/protosocket/internal/sched"
)

// errWouldBlock is returned by nbReader.Read when the socket has no data.
// The frame.Reader passes it through untouched (releasing its slab when no
// partial frame is buffered) and the reader goroutine then waits for
// readability itself, at a shallow stack depth.
var errWouldBlock = errors.New("socket: would block")

// nbReader reads a socket without blocking, for the frame.Reader. Waiting
// happens in Conn.waitReadable instead, with no slab held and few stack
// frames above the park point, so the garbage collector can shrink an idle
// reader's stack to the 2 KiB minimum.
type nbReader struct {
	c      *Conn
	rc     syscall.RawConn
	buf    []byte
	n      int
	err    error
	readFn func(uintptr) bool // r.read, bound once
	// drained: the last read returned less than it asked for, so the
	// socket was empty then. The next Read reports errWouldBlock without
	// a system call and the reader waits (waitReadable peeks, so data that
	// came in meanwhile is found at once): one system call fewer each
	// time a connection goes idle.
	drained bool
}

// newNBReader returns an nbReader for a TCP or Unix connection on a
// platform with the raw paths (netfd.Supported), or nil: the frame.Reader
// then reads the net.Conn, blocking.
func newNBReader(nc net.Conn, c *Conn) *nbReader {
	rc := netfd.RawConn(nc)
	if rc == nil {
		return nil
	}
	r := &nbReader{c: c, rc: rc}
	r.readFn = r.read
	return r
}

// Read implements io.Reader: one read(2), errWouldBlock on EAGAIN. It is
// called by the frame.Reader on the reader goroutine only.
func (r *nbReader) Read(p []byte) (int, error) {
	r.c.flushReplies() // the replies to what was read so far go out first
	if r.drained {
		r.drained = false
		return 0, errWouldBlock
	}
	r.buf = p
	err := r.rc.Read(r.readFn)
	for err != nil {
		if k := r.c.fired(err, monoNow()); k != firedMove && k != firedStale {
			break
		}
		err = r.rc.Read(r.readFn) // the move timer or a stale deadline: not ours to report
	}
	r.buf = nil
	if err != nil {
		return 0, err
	}
	r.drained = r.err == nil && r.n < len(p)
	return r.n, r.err
}

func (r *nbReader) read(fd uintptr) bool {
	r.n, r.err = netfd.Read(fd, r.buf)
	if r.err == netfd.ErrAgain {
		r.err = errWouldBlock
	}
	return true
}

// waitReadable parks until the socket is readable (or the read deadline
// passes, or it is closed). The callback peeks one byte (MSG_PEEK): a wait
// cannot simply decline once, since RawConn.Read resets the poller's
// readiness before the first call and an edge that came in after our last
// EAGAIN would be lost. Before it waits the reader nudges the scheduler
// (internal/sched, nudge.go).
func (c *Conn) waitReadable() error {
	c.nb.drained = false
	c.peekParked = false
	sched.Nudge()
	if err := c.nb.rc.Read(c.peekFn); err != nil {
		return err
	}
	if err := c.peekErr; err != nil {
		c.peekErr = nil
		return err
	}
	return nil
}

// peekCB is the RawConn.Read callback of waitReadable. A socket error
// (ECONNRESET...) is reported once by the kernel, so it is kept in
// peekErr for the reader to return. Called again after the poller woke
// the goroutine, it ends the wait without a second peek: the read that
// follows finds the data, EOF or error (or EAGAIN after a spurious
// wake-up, and the reader waits again), one system call per idle
// transition fewer.
func (c *Conn) peekCB(fd uintptr) bool {
	if c.peekParked {
		return true
	}
	switch err := netfd.Peek(fd, &c.peekBuf[0]); err {
	case nil:
	case netfd.ErrAgain:
		c.peekParked = true
		return false
	default:
		c.peekErr = err
	}
	return true // data, EOF, or an error
}
