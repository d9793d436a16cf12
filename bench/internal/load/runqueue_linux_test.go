package load

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// More spinning threads than CPUs wait on a run queue: with twice as
// many running goroutines (and Ps) as CPUs for 300 ms, the process's
// threads wait at least 150 ms more in all (about NumCPU x 300 ms on an
// idle machine, more on a loaded one).
//
// Some kernels (VMs) do not count the wait: every thread's counter reads
// 0, before and after that starvation (or there is no schedstat file).
// There the test says so and skips
// (psbench then reads no wait, and its NOISY line names both causes). A
// kernel whose counters move at all shows some thread waiting after it,
// and must show the whole 150 ms.
func TestRunQueueWaitSeesStarvation(t *testing.T) {
	before, ok := threadRunQueueWaits()
	if !ok {
		t.Skip("this kernel has no readable /proc/self/task/*/schedstat: runQueueWait is not ok, and psbench reads no wait")
	}
	n := 2 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for !stop.Load() { // spins on purpose
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	after, ok := threadRunQueueWaits()
	require.True(t, ok)
	if allZero(before) && allZero(after) {
		t.Skipf("this kernel does not count run-queue wait: schedstat's run_delay reads 0 for all %d threads "+
			"before and %d after %d spinning threads on %d CPUs for 300 ms", len(before), len(after), n, runtime.NumCPU())
	}
	var b, a time.Duration
	for _, w := range before {
		b += w
	}
	for _, w := range after {
		a += w
	}
	assert.Greater(t, a-b, 150*time.Millisecond, "%d spinning threads on %d CPUs for 300 ms", n, runtime.NumCPU())
}

func allZero(ws []time.Duration) bool {
	for _, w := range ws {
		if w != 0 {
			return false
		}
	}
	return true
}
