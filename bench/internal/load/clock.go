package load

import "time"

// clock is the time source of the load loop; tests substitute a virtual
// one so that the scheduling logic can be checked without real sleeps.
type clock interface {
	// Now returns nanoseconds since an arbitrary fixed origin.
	Now() int64
	// SleepUntil returns once Now() >= t (or about then).
	SleepUntil(t int64)
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

// StampWall writes the current wall-clock time in the first StampSize
// bytes of p. A System's server uses it for ServerStream payloads; the
// client computes one-way latency against its own wall clock, so both
// halves must run on the same host (or on hosts with synchronized clocks).
func StampWall(p []byte) { PutStamp(p, time.Now().UnixNano()) }
