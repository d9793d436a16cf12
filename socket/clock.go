package socket

import "time"

// The connection timers' clock (deadline.go): nanoseconds on the
// monotonic clock since monoBase, read once per call. time.Now reads the
// wall clock as well (about 200 ns on this project's VMs, where neither is
// read in user space: monoNow is one read), and the wall clock can step
// (NTP, a VM's clock sync): a timer kept in wall time fired up to 7 ms
// early against the monotonic clock in TestFrameTimeoutSlowDrip on this
// project's VMs.
var monoBase = time.Now()

// monoNow returns the monotonic time in nanoseconds since monoBase
// (positive: 0 stays free to mean "unarmed").
func monoNow() int64 { return int64(time.Since(monoBase)) + 1 }

// monoTime converts a monoNow value to a time.Time that carries a
// monotonic reading, so SetReadDeadline measures it on the monotonic
// clock too.
func monoTime(ns int64) time.Time { return monoBase.Add(time.Duration(ns - 1)) }
