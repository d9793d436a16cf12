package load

import (
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: nanoseconds from 1 ns to 60 s at 3 significant
// figures. Longer latencies are recorded as 60 s.
const (
	histMin    = 1
	histMax    = int64(60 * time.Second)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// Progress is the state of a run so far, given to Config.Progress.
type Progress struct {
	Elapsed time.Duration
	Ops     int64   // operations completed so far
	Errors  int64   // errors so far
	Rate    float64 // operations per second over the last interval
	// CPU is the process CPU time (user + system) per wall second over
	// the last interval: 2 is two cores busy. A rate that moves with it
	// moved because the machine gave the process more or less CPU.
	CPU  float64
	P99  time.Duration
	P999 time.Duration
}

// Result is the outcome of one measured run (or of several merged rounds).
type Result struct {
	// System is filled by the caller (Run does not know the name).
	System string
	// Config of the run, defaults filled.
	Options
	// Rate is the offered rate of an open-loop run; 0 for closed loop.
	Rate float64
	// Elapsed is the measured wall time, including the grace period
	// spent finishing operations in flight.
	Elapsed time.Duration
	// Ops counts completed operations (unary calls or stream messages).
	Ops int64
	// Errors counts failed operations; FirstError is the first of them.
	Errors     int64
	FirstError error
	// Hist holds the latency of every completed operation in nanoseconds.
	Hist *hdrhistogram.Histogram
	// Mallocs, AllocBytes and GCCycles are runtime.MemStats deltas over
	// the measured window: the whole process, so both halves of a
	// one-process run.
	Mallocs    uint64
	AllocBytes uint64
	GCCycles   uint32
	// CPU is the process CPU time (user + system) spent in the window.
	CPU time.Duration
	// Series is the throughput (operations per second) of each full
	// SeriesStep of the window, in order.
	Series []float64
	// Seconds is the throughput of each second of the window, in order:
	// the rates Config.Progress reports (the last one covers the last
	// half second or more, or is left out).
	Seconds []float64
	// SecondsCPU is, for each entry of Seconds, the process CPU time
	// (user + system) per wall second of that second: the CPU the machine
	// gave the process while it ran at that rate.
	SecondsCPU []float64
	// SecondsWait is, for each entry of Seconds, how long the process's
	// threads waited on a run queue (runnable, no CPU free) per wall
	// second of that second, summed over threads; nil where unknown (not
	// Linux, or /proc unreadable in any second).
	SecondsWait []float64
}

// Throughput is completed operations per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// OfferedRate is the open-loop rate, or the throughput for closed loop.
func (r *Result) OfferedRate() float64 {
	if r.Rate > 0 {
		return r.Rate
	}
	return r.Throughput()
}

// Percentile returns the latency at quantile q in percent (99.9 for
// p99.9); 0 if nothing completed.
func (r *Result) Percentile(q float64) time.Duration {
	if r.Hist == nil || r.Hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.Hist.ValueAtQuantile(q))
}

func (r *Result) perOp(v float64) float64 {
	if r.Ops == 0 {
		return 0
	}
	return v / float64(r.Ops)
}

// AllocsPerOp is heap allocations per completed operation.
func (r *Result) AllocsPerOp() float64 { return r.perOp(float64(r.Mallocs)) }

// BytesPerOp is heap bytes allocated per completed operation.
func (r *Result) BytesPerOp() float64 { return r.perOp(float64(r.AllocBytes)) }

// CPUPerOp is process CPU time per completed operation, in microseconds.
func (r *Result) CPUPerOp() float64 { return r.perOp(float64(r.CPU) / 1e3) }

// Merge adds the figures of o (another round of the same system and
// configuration) to r.
func (r *Result) Merge(o *Result) {
	if r.Hist == nil {
		r.Hist = newHist()
	}
	if o.Hist != nil {
		r.Hist.Merge(o.Hist)
	}
	r.Elapsed += o.Elapsed
	r.Ops += o.Ops
	r.Errors += o.Errors
	if r.FirstError == nil {
		r.FirstError = o.FirstError
	}
	r.Mallocs += o.Mallocs
	r.AllocBytes += o.AllocBytes
	r.GCCycles += o.GCCycles
	r.CPU += o.CPU
	waitKnown := len(r.SecondsWait) == len(r.Seconds) && len(o.SecondsWait) == len(o.Seconds)
	r.Series = append(r.Series, o.Series...)
	r.Seconds = append(r.Seconds, o.Seconds...)
	r.SecondsCPU = append(r.SecondsCPU, o.SecondsCPU...)
	if waitKnown {
		r.SecondsWait = append(r.SecondsWait, o.SecondsWait...)
	} else {
		r.SecondsWait = nil // known for some seconds only
	}
}

// shard is one lock-protected part of the recording; workers are spread
// over a few shards so that they rarely contend, and the progress
// goroutine can read them while the run goes on.
type shard struct {
	mu       sync.Mutex
	h        *hdrhistogram.Histogram
	ops      int64
	errs     int64
	firstErr error
	_        [64]byte // keep shards on separate cache lines
}

func (s *shard) record(d int64, err error) {
	s.mu.Lock()
	if err != nil {
		s.errs++
		if s.firstErr == nil {
			s.firstErr = err
		}
	} else {
		if d < histMin {
			d = histMin
		} else if d > histMax {
			d = histMax
		}
		_ = s.h.RecordValue(d) // cannot fail: d is within bounds
		s.ops++
	}
	s.mu.Unlock()
}

// usage is a snapshot of the process counters the Result reports.
type usage struct {
	mallocs, bytes uint64
	gc             uint32
	cpu            time.Duration
}

func readUsage() usage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := usage{mallocs: ms.Mallocs, bytes: ms.TotalAlloc, gc: ms.NumGC}
	u.cpu = processCPU()
	return u
}

// processCPU is the process's user + system CPU time so far (0 if the
// system cannot say).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
