package load

import (
	"syscall"
	"time"
)

// sleepPrecise sleeps for about d in a nanosleep system call: it blocks
// only the calling thread and wakes within the kernel's timer slack (50 µs
// by default), where time.Sleep may be a millisecond late in an idle
// process (the netpoller waits in whole milliseconds). Only the pacer
// uses it, never one goroutine per worker: a thread per sleeping worker
// is what made an earlier per-worker nanosleep worse with 64 workers.
func sleepPrecise(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
