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
// the loaded machine read 316 ms on a CPU and 729 ms waiting. The
// sampler reads it once a second (a few allocations per thread).
func runQueueWait() (time.Duration, bool) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return 0, false
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return 0, false
	}
	var buf [128]byte
	var sum int64
	for _, n := range names {
		f, err := os.Open("/proc/self/task/" + n + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		k, _ := f.Read(buf[:])
		_ = f.Close()
		fields := bytes.Fields(buf[:k])
		if len(fields) < 2 {
			return 0, false
		}
		v, err := strconv.ParseInt(string(fields[1]), 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return time.Duration(sum), true
}
