package sched

import "sync/atomic"

// Writer yields: when the queue runs empty while the writer goroutine's
// batch is still growing, it yields the processor (runtime.Gosched, no
// timer) up to this many times before it flushes: senders woken by the
// same replies get to queue, and one writev carries them all. Measured when
// it came in (commit b32ddb2, socket/rpc BenchmarkCall/inline, 64 callers,
// which reports frames per write): 2.9 -> 49.8 frames per writev and
// 3572 -> 1333 ns per call with up to 3 yields. Re-measure with
// PROTOSOCKET_SCHED=yields=0 (see the package documentation).

// DefaultWriterYields is the writer's yield count unless changed.
const DefaultWriterYields = 3

var writerYields atomic.Int32

func init() { writerYields.Store(DefaultWriterYields) }

// WriterYields returns how many times the writer goroutine yields before it
// flushes a batch that is still growing (0: it flushes at once).
func WriterYields() int { return int(writerYields.Load()) }

// SetWriterYields sets WriterYields (negative counts as 0) and returns a
// function that restores the previous value.
func SetWriterYields(n int) (restore func()) {
	old := writerYields.Swap(int32(max(n, 0)))
	return func() { writerYields.Store(old) }
}
