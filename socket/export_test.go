package socket

import "time"

// SetMoveDelay sets moveDelay (see readFrames) for a test and returns a
// function that restores it.
func SetMoveDelay(d time.Duration) (restore func()) {
	old := moveDelay.Swap(int64(d))
	return func() { moveDelay.Store(old) }
}
