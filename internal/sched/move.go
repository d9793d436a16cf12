package sched

import (
	"sync/atomic"
	"time"
)

// The move timer: the garbage collector never shrinks a 4 KiB stack back
// to 2 KiB (it needs the part in use plus 800 bytes under a quarter of the
// stack), so a reader whose stack grew while dispatching (a reactor,
// Reply, the writev path) would keep 4 KiB or more while idle. A reader
// whose stack moved arms a timer before it waits; a wait that outlasts it
// starts a fresh goroutine to wait in its place, so an idle connection's
// reader ends with a minimal stack (socket's TestIdleMemoryPerConn), while
// a busy one waits and wakes on the same goroutine (starting one per wait
// cost a quarter of a round trip in socketbench's one-in-flight echo) and
// moves at most once per delay.

// DefaultMoveDelay is the move timer's delay unless changed.
const DefaultMoveDelay = 100 * time.Millisecond

var moveDelay atomic.Int64

func init() { moveDelay.Store(int64(DefaultMoveDelay)) }

// MoveDelay returns the move timer's delay in nanoseconds; 0 means readers
// never move.
func MoveDelay() int64 { return moveDelay.Load() }

// SetMoveDelay sets MoveDelay (zero or negative: never move) and returns a
// function that restores the previous value.
func SetMoveDelay(d time.Duration) (restore func()) {
	old := moveDelay.Swap(int64(max(d, 0)))
	return func() { moveDelay.Store(old) }
}
