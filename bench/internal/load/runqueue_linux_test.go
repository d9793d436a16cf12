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
func TestRunQueueWaitSeesStarvation(t *testing.T) {
	before, ok := runQueueWait()
	require.True(t, ok, "/proc/self/task/*/schedstat")
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
	after, ok := runQueueWait()
	require.True(t, ok)
	assert.Greater(t, after-before, 150*time.Millisecond)
}
