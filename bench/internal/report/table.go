package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// FormatUs prints a latency in microseconds with a readable unit.
func FormatUs(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v < 1000:
		return fmt.Sprintf("%.1fµs", v)
	case v < 1e6:
		return fmt.Sprintf("%.2fms", v/1e3)
	}
	return fmt.Sprintf("%.2fs", v/1e6)
}

// FormatRate prints operations per second compactly.
func FormatRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v < 10:
		return fmt.Sprintf("%.2g", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteTable prints recs as an aligned table. When every record shares
// its scenario, payload, connections, callers and loop, those go in one
// line above the table instead of five columns repeated on every row (p90
// and the maximum are in the JSON only).
func WriteTable(w io.Writer, recs []Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	shared := len(recs) > 0
	for _, r := range recs[min(1, len(recs)):] {
		r0 := recs[0]
		if r.Scenario != r0.Scenario || r.PayloadBytes != r0.PayloadBytes || r.Connections != r0.Connections ||
			r.Concurrency != r0.Concurrency || r.OpenLoop != r0.OpenLoop || r.OpenLoop && r.OfferedRPS != r0.OfferedRPS {
			shared = false
		}
	}
	if shared {
		r := recs[0]
		loop := "closed loop"
		if r.OpenLoop {
			loop = "open loop at " + FormatRate(r.OfferedRPS) + "/s offered"
		}
		conns := "1 connection"
		if r.Connections != 1 {
			conns = fmt.Sprintf("%d connections", r.Connections)
		}
		conc := fmt.Sprintf("%d callers", r.Concurrency)
		if r.Scenario != string(load.Unary) {
			conc = fmt.Sprintf("up to %d messages in flight per stream", r.Concurrency)
		}
		fmt.Fprintf(w, "%s, %s payload, %s, %s, %s\n", r.Scenario, FormatBytes(r.PayloadBytes), conns, conc, loop)
		fmt.Fprintln(tw, "system\tthroughput/s\tp50\tp99\tp99.9\tp99.99\terrors\tallocs/op\tB/op\tGCs\tcpu-µs/op\t")
	} else {
		fmt.Fprintln(tw, "system\tscenario\tpayload\tconns\tconc\toffered/s\tthroughput/s\tp50\tp99\tp99.9\tp99.99\terrors\tallocs/op\tB/op\tGCs\tcpu-µs/op\t")
	}
	for _, r := range recs {
		if !shared {
			offered := FormatRate(r.OfferedRPS)
			if !r.OpenLoop {
				offered = "closed"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t", r.System, r.Scenario, r.PayloadBytes, r.Connections, r.Concurrency, offered)
		} else {
			fmt.Fprintf(tw, "%s\t", r.System)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%.0f\t%d\t%.2f\t\n",
			FormatRate(r.ThroughputRPS), FormatUs(r.P50us), FormatUs(r.P99us),
			FormatUs(r.P999us), FormatUs(r.P9999us), r.Errors, r.AllocsPerOp, r.BytesPerOp,
			r.GCCycles, r.CPUusPerOp)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range recs {
		if r.Noisy {
			why := noisyWhy(r)
			fmt.Fprintf(w, "%s: NOISY: its per-second rate moved %.0f%% (%s/s to %s/s), more than %.0f%%: %s\n",
				r.System, 100*(r.SecondMaxRPS-r.SecondMinRPS)/r.SecondMaxRPS, FormatRate(r.SecondMinRPS), FormatRate(r.SecondMaxRPS), 100*NoisyMove, why)
		}
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: %d errors, first: %s\n", r.System, r.Errors, r.FirstError)
		}
		if r.Sweep != nil {
			writeSweep(w, r)
		}
	}
	return nil
}

func writeSweep(w io.Writer, r Record) {
	s := r.Sweep
	verdict := fmt.Sprintf("highest rate with p99.9 < %s: %s/s", FormatUs(s.ThresholdUs), FormatRate(s.MaxRateRPS))
	if s.MaxRateRPS == 0 {
		verdict = fmt.Sprintf("no step kept p99.9 under %s", FormatUs(s.ThresholdUs))
	} else if s.Bounded {
		verdict += " (bounded by steps or time: not the limit)"
	}
	fmt.Fprintf(w, "\n%s %s sweep: %s\n", r.System, r.Scenario, verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "offered/s\tthroughput/s\tp50\tp99\tp99.9\terrors\t\t")
	for _, st := range s.Steps {
		mark := "pass"
		if !st.Pass {
			mark = "fail: " + st.Why
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", FormatRate(st.OfferedRPS), FormatRate(st.ThroughputRPS),
			FormatUs(st.P50us), FormatUs(st.P99us), FormatUs(st.P999us), st.Errors, mark)
	}
	_ = tw.Flush()
}

// WriteRatio prints how system a compares to system b on each record pair
// of the same scenario: throughput and latency ratios (a / b). A ratio is
// printed only where both figures are non-zero at the table's precision;
// otherwise the two figures themselves ("allocs/op 0 vs 0").
func WriteRatio(w io.Writer, a, b Record) {
	parts := []string{
		"throughput " + Ratio(a.ThroughputRPS, b.ThroughputRPS, 0),
		"p50 " + Ratio(a.P50us, b.P50us, 1),
		"p99 " + Ratio(a.P99us, b.P99us, 1),
		"p99.9 " + Ratio(a.P999us, b.P999us, 1),
		"allocs/op " + Ratio(a.AllocsPerOp, b.AllocsPerOp, 2),
		"cpu/op " + Ratio(a.CPUusPerOp, b.CPUusPerOp, 2),
	}
	if a.Sweep != nil && b.Sweep != nil {
		parts = append(parts, "max rate under threshold "+Ratio(a.Sweep.MaxRateRPS, b.Sweep.MaxRateRPS, 0))
	}
	fmt.Fprintf(w, "ratio %s/%s (%s): %s\n", a.System, b.System, a.Scenario, strings.Join(parts, ", "))
}

// Ratio formats x/y as "1.23x" when both x and y are non-zero once
// rounded to prec decimals (the precision the table prints them at), and
// as "x vs y" at that precision otherwise: 0.004 and 0.005 allocations per
// operation print as "0 vs 0", not as a ratio of rounding noise.
func Ratio(x, y float64, prec int) string {
	xs, ys := trimNum(x, prec), trimNum(y, prec)
	if xs == "0" || ys == "0" {
		return xs + " vs " + ys
	}
	return fmt.Sprintf("%.2fx", x/y)
}

// trimNum prints v with prec decimals, without trailing zeros ("0" for
// anything that rounds to zero).
func trimNum(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// noisyWhy is what the NOISY line of r says moved with its rate. The
// process CPU of each second alone cannot tell a process the machine
// starved from a system that stalled by itself (on flow control, a lock,
// a full queue): both use less CPU in proportion. The run-queue wait
// (Linux: load.Result.SecondsWait) tells them apart: a starved process's
// threads wait for a CPU, a stalled one's do not (Steadiness.Starved,
// SelfStalled). Without it, or between the two, the line names both.
func noisyWhy(r Record) string {
	st := r.steadiness()
	cores := fmt.Sprintf("%.2f to %.2f cores a second (rate per CPU-second moved only %.0f%%)",
		r.SecondMinCPU, r.SecondMaxCPU, 100*r.PerCPUMove)
	switch {
	case st.Starved():
		return fmt.Sprintf("the machine starved it: its rate followed the CPU it got, %s, and in its slowest second its threads waited %.0f ms per second for a CPU (%.0f ms in its fastest); rerun, or lengthen -duration",
			cores, 1e3*r.SlowWait, 1e3*r.FastWait)
	case st.SelfStalled():
		return fmt.Sprintf("the system itself stalled: its rate followed the CPU it used, %s, but in its slowest second its threads waited %.0f ms per second for a CPU (%.0f ms in its fastest) while it used %.2f fewer cores: it had less to run (flow control, a lock, a full queue), not less CPU",
			cores, 1e3*r.SlowWait, 1e3*r.FastWait, r.FastCPU-r.SlowCPU)
	case st.FollowedCPU():
		return fmt.Sprintf("its rate followed the CPU the process used, %s: the machine changed under the run, or the system itself stalled (CPU use cannot tell which); rerun, or lengthen -duration", cores)
	case st.CPUKnown:
		return fmt.Sprintf("not only the CPU it got: at %.2f to %.2f cores a second its rate per CPU-second moved %.0f%% too (the system's own unevenness, or contention that changes its cost per op)",
			r.SecondMinCPU, r.SecondMaxCPU, 100*r.PerCPUMove)
	case r.Trend == "rising":
		return "rising every second: still warming up, or the machine got quieter; lengthen -warmup or rerun"
	case r.Trend == "falling":
		return "falling every second: degrading, or the machine got busier; rerun to tell which"
	}
	return "the machine changed under the run, or the system itself did; rerun, or lengthen -duration"
}

// steadiness is the part of Steadiness a Record keeps.
func (r Record) steadiness() Steadiness {
	return Steadiness{
		Known: r.SecondMaxRPS > 0, Min: r.SecondMinRPS, Max: r.SecondMaxRPS, Noisy: r.Noisy,
		CPUKnown: r.SecondMaxCPU > 0, CPUMin: r.SecondMinCPU, CPUMax: r.SecondMaxCPU, PerCPUMove: r.PerCPUMove,
		WaitKnown: r.WaitKnown && r.SecondMaxCPU > 0, CPUSlow: r.SlowCPU, CPUFast: r.FastCPU, WaitSlow: r.SlowWait, WaitFast: r.FastWait,
	}
}
