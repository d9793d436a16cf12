package load

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// runQueueWait is the time the process's threads have spent runnable but
// waiting for a CPU (the second field of /proc/self/task/*/schedstat,
// summed over the threads that exist now); ok is false when it cannot be
// read. A starved process waits longer per second; a system that stalls
// by itself (flow control, a lock) is not runnable and does not. Checked
// on the 2-core VM of bench/README: a Python busy loop for one second on
// the loaded machine read 316 ms on a CPU and 729 ms waiting. Some
// kernels (VMs) keep the counter at 0 for every thread
// (TestRunQueueWaitSeesStarvation says so and skips); psbench then reads
// a wait of 0 and names both causes of a NOISY run (report.noisyWhy). The
// sampler reads it once a second (a few allocations per thread).
func runQueueWait() (time.Duration, bool) {
	waits, ok := threadRunQueueWaits()
	var sum time.Duration
	for _, w := range waits {
		sum += w
	}
	return sum, ok
}

// threadRunQueueWaits is the run-queue wait of each of the process's
// threads that exist now (see runQueueWait); ok is false when none could
// be read.
func threadRunQueueWaits() (waits []time.Duration, ok bool) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, false
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return nil, false
	}
	var buf [128]byte
	for _, n := range names {
		f, err := os.Open("/proc/self/task/" + n + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		k, _ := f.Read(buf[:])
		_ = f.Close()
		fields := bytes.Fields(buf[:k])
		if len(fields) < 2 {
			return nil, false
		}
		v, err := strconv.ParseInt(string(fields[1]), 10, 64)
		if err != nil {
			return nil, false
		}
		waits = append(waits, time.Duration(v))
	}
	return waits, len(waits) > 0
}
