//go:build linux

package codec

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// cpuClock measures the CPU time of the benchmark goroutine's thread, so a
// benchmark on a loaded machine reports the work it did and not the time
// other processes held the cores. It reports cpu-ns/op next to ns/op.
type cpuClock struct{ start int64 }

func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// startCPU locks the goroutine to its thread and starts the clock; call
// stop after the benchmark loop.
func startCPU() cpuClock {
	runtime.LockOSThread()
	return cpuClock{start: threadCPU()}
}

func (c cpuClock) stop(b *testing.B) {
	d := threadCPU() - c.start
	runtime.UnlockOSThread()
	if b.N > 0 {
		b.ReportMetric(float64(d)/float64(b.N), "cpu-ns/op")
	}
}
