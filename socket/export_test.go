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
