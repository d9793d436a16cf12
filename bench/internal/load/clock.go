package load

import (
	"sync/atomic"
	"time"
)

// clock is the time source of the load loop; tests substitute a virtual
// one so that the scheduling logic can be checked without real sleeps.
type clock interface {
	// Now returns nanoseconds since an arbitrary fixed origin.
	Now() int64
	// SleepUntil returns once Now() >= t (or about then).
	SleepUntil(t int64)
	// WaitUntil is the open-loop pacer's wait for the next scheduled
	// send time t; one goroutine at a time calls it. busy counts the
	// operations handed out and not yet recorded: the real clock ignores
	// it; a virtual clock lets them finish before it jumps to t, so that a
	// virtual run is deterministic.
	WaitUntil(t int64, busy *atomic.Int64)
}

// realClock is the monotonic clock, origin at its creation.
type realClock struct{ base time.Time }

func newRealClock() *realClock { return &realClock{base: time.Now()} }

func (c *realClock) Now() int64 { return int64(time.Since(c.base)) }

func (c *realClock) SleepUntil(t int64) {
	if d := t - c.Now(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

func (c *realClock) WaitUntil(t int64, _ *atomic.Int64) {
	sleepPrecise(time.Duration(max(t-c.Now(), int64(pacerQuantum))))
}

// pacerQuantum is the shortest wait of the open-loop pacer on the real
// clock: it wakes at most about every 50-100 µs (the quantum plus the
// kernel's timer slack) and then hands out every send due by then.
const pacerQuantum = 50 * time.Microsecond

// StampWall writes the current wall-clock time in the first StampSize
// bytes of p. A System's server uses it for ServerStream payloads; the
// client computes one-way latency against its own wall clock, so both
// halves must run on the same host (or on hosts with synchronized clocks).
func StampWall(p []byte) { PutStamp(p, time.Now().UnixNano()) }
