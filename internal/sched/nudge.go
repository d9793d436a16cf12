package sched

import "sync/atomic"

// The nudge: before a reader parks to wait for readability it starts a
// goroutine that does nothing. Starting one makes the runtime wake an idle
// processor (wakep) now, while the reader is done with its batch, rather
// than on the critical path of the next message or of the goroutines the
// reactor readied; that is the likely reason it helps. Measured side by
// side on a 2-core VM (bench/README.md, "the nudge"): psbench unary with
// 64 callers 453-503k calls/s at 2.7-2.9 CPU-us per call without it,
// 558-587k at 1.8-1.9 with it; the socketbench round trip whose reply a
// reactor hands to a waiting caller 32 -> 23 us, the pipelined echo
// 0.50x -> 0.63x of the minimal echo. It costs a goroutine start per wait
// (a read batch, not a message), with no allocation once the runtime has
// finished goroutines to reuse.

var nudgeOff atomic.Bool

// Nudge starts the do-nothing goroutine, unless switched off.
func Nudge() {
	if !nudgeOff.Load() {
		go nudge()
	}
}

func nudge() {}

// NudgeOn reports whether Nudge starts its goroutine.
func NudgeOn() bool { return !nudgeOff.Load() }

// SetNudge switches the nudge on or off and returns a function that
// restores the previous setting.
func SetNudge(on bool) (restore func()) {
	old := nudgeOff.Swap(!on)
	return func() { nudgeOff.Store(old) }
}
