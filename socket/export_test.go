package socket

import "time"

// SetMoveDelay sets moveDelay (see readFrames) for a test and returns a
// function that restores it.
func SetMoveDelay(d time.Duration) (restore func()) {
	old := moveDelay.Swap(int64(d))
	return func() { moveDelay.Store(old) }
}

// HoldsQueue reports whether c holds an outbound queue.
func HoldsQueue(c *Conn) bool {
	q := c.q.Load()
	return q != nil && q != closedQueue
}
