package report

import (
	"slices"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// NoisyMove is the move of the per-second rate above which a run is
// flagged noisy: the slowest full second more than 30% below the fastest
// (the bar issue 23 set). A larger move means the run's figures are not a
// steady state: the machine (another process, a throttled vCPU) or the
// system itself (a GC storm, a stall on flow control) changed under it.
const NoisyMove = 0.30

// Steadiness summarizes how a run's rate moved from second to second.
type Steadiness struct {
	// Known is false when the run had fewer than two full seconds.
	Known bool
	// Min and Max are the lowest and highest per-second rates.
	Min, Max float64
	// Move is (Max-Min)/Max.
	Move float64
	// Noisy is Move > NoisyMove.
	Noisy bool
	// Trend is +1 when every second was faster than the one before (still
	// warming up), -1 when every second was slower (degrading), else 0.
	Trend int
	// CPUKnown is true when the CPU of every second is known
	// (SteadinessWithCPU). CPUMin and CPUMax are then the lowest and
	// highest process CPU per wall second (cores), and PerCPUMove is how
	// far the rate per CPU-second moved, (max-min)/max: when it stays
	// within NoisyMove while the rate moved more, the rate followed the
	// CPU the process used, which is either the share the machine gave
	// it or what the system itself asked for (a system stalled on flow
	// control uses less CPU in proportion): this cannot tell which.
	CPUKnown       bool
	CPUMin, CPUMax float64
	PerCPUMove     float64
	// WaitKnown is true when the CPU and the run-queue wait of every
	// second are known (SteadinessWithWait). CPUSlow and CPUFast are the
	// process CPU (cores) of the slowest and the fastest second, WaitSlow
	// and WaitFast how long its threads waited on a run queue per wall
	// second in them (load.Result.SecondsWait).
	WaitKnown          bool
	CPUSlow, CPUFast   float64
	WaitSlow, WaitFast float64
}

// Starved reports whether a rate that followed the CPU is explained by
// the machine: in the slowest second the process's threads waited on a
// run queue, beyond what they waited in the fastest one, at least half
// of the CPU it used less (a core-second the machine took from runnable
// threads is a second one of them waits). SelfStalled reports the
// opposite: they waited less than a quarter of it more, so the process
// used less CPU because it had less to run (a system stalled on flow
// control, a lock, a full queue). Neither holds between the two, or
// without the wait.
func (st Steadiness) Starved() bool {
	return st.WaitKnown && st.FollowedCPU() && st.CPUFast > st.CPUSlow &&
		st.WaitSlow-st.WaitFast >= (st.CPUFast-st.CPUSlow)/2
}

// SelfStalled: see Starved.
func (st Steadiness) SelfStalled() bool {
	return st.WaitKnown && st.FollowedCPU() && st.CPUFast > st.CPUSlow &&
		st.WaitSlow-st.WaitFast < (st.CPUFast-st.CPUSlow)/4
}

// SteadinessWithWait is SteadinessWithCPU(secs, cpu) plus, when wait
// holds the run-queue wait per wall second of each second, the CPU and
// the wait of the slowest and the fastest second.
func SteadinessWithWait(secs, cpu, wait []float64) Steadiness {
	st := SteadinessWithCPU(secs, cpu)
	if !st.CPUKnown || len(wait) != len(secs) || !slices.ContainsFunc(wait, func(w float64) bool { return w > 0 }) {
		// No wait in any second: on a VM whose schedstat counters do not
		// move (seen on this project's machine once) that is no evidence
		// that nothing waited, so the verdict names both causes.
		return st
	}
	slow, fast := 0, 0
	for i, v := range secs {
		if v < secs[slow] {
			slow = i
		}
		if v > secs[fast] {
			fast = i
		}
	}
	st.WaitKnown = true
	st.CPUSlow, st.CPUFast = cpu[slow], cpu[fast]
	st.WaitSlow, st.WaitFast = wait[slow], wait[fast]
	return st
}

// FollowedCPU reports whether a noisy rate moved with the CPU the process
// used: its rate per CPU-second stayed within NoisyMove. The machine
// starving the process and the system stalling by itself both look so.
func (st Steadiness) FollowedCPU() bool { return st.CPUKnown && st.PerCPUMove <= NoisyMove }

// SteadinessWithCPU is SteadinessOf(secs) plus, when cpu holds the
// process CPU per wall second of each of those seconds
// (load.Result.SecondsCPU), how the CPU share and the rate per
// CPU-second moved.
func SteadinessWithCPU(secs, cpu []float64) Steadiness {
	st := SteadinessOf(secs)
	if !st.Known || len(cpu) != len(secs) {
		return st
	}
	var lo, hi float64
	for i, c := range cpu {
		if c <= 0 {
			return st // a second without CPU: no rate per CPU-second
		}
		per := secs[i] / c
		if i == 0 {
			lo, hi, st.CPUMin, st.CPUMax = per, per, c, c
		}
		lo, hi = min(lo, per), max(hi, per)
		st.CPUMin, st.CPUMax = min(st.CPUMin, c), max(st.CPUMax, c)
	}
	st.CPUKnown = true
	if hi > 0 {
		st.PerCPUMove = (hi - lo) / hi
	}
	return st
}

// SteadinessOf compares the slowest with the fastest of secs, the rate
// of each second of a run (load.Result.Seconds: the rates its progress
// lines printed).
func SteadinessOf(secs []float64) Steadiness {
	if len(secs) < 2 {
		return Steadiness{}
	}
	st := Steadiness{Known: true, Min: secs[0], Max: secs[0]}
	up, down := true, true
	for i, v := range secs[1:] {
		st.Min, st.Max = min(st.Min, v), max(st.Max, v)
		up = up && v > secs[i]
		down = down && v < secs[i]
	}
	switch {
	case up:
		st.Trend = 1
	case down:
		st.Trend = -1
	}
	if st.Max > 0 {
		st.Move = (st.Max - st.Min) / st.Max
	}
	st.Noisy = st.Move > NoisyMove
	return st
}

func steadinessOf(r *load.Result) Steadiness {
	return SteadinessWithWait(r.Seconds, r.SecondsCPU, r.SecondsWait)
}
