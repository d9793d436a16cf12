package socket

import (
	"time"

	"github.com/protosocket-go/protosocket/internal/sched"
)

// SetMoveDelay sets the move timer's delay (internal/sched, move.go) for a
// test and returns a function that restores it.
func SetMoveDelay(d time.Duration) (restore func()) { return sched.SetMoveDelay(d) }

// HoldsQueue reports whether c holds an outbound queue.
func HoldsQueue(c *Conn) bool {
	q := c.q.Load()
	return q != nil && q != closedQueue
}

// ConnOptions returns the options c runs with, defaults filled.
func ConnOptions(c *Conn) Options { return *c.opts }

// HandshakeSlotsTaken returns how many of the server's TLS handshake
// slots are taken; c is one of the server's connections.
func HandshakeSlotsTaken(c *Conn) int { return len(c.srv.hs) }
