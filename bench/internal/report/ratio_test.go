package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

func TestRatio(t *testing.T) {
	for _, tt := range []struct {
		x, y float64
		prec int
		want string
	}{
		{2, 1, 0, "2.00x"},
		{0.5, 2, 2, "0.25x"},
		{0, 0, 2, "0 vs 0"},
		{0.0031, 0.0039, 2, "0 vs 0"}, // issue 23: rounding noise printed as 0.79x
		{0.004, 0.005, 1, "0 vs 0"},
		{0.06, 0.004, 2, "0.06 vs 0"},
		{0, 138.42, 2, "0 vs 138.42"},
		{147.5, 0, 1, "147.5 vs 0"},
		{3, 0.2, 0, "3 vs 0"},
		{-0.001, 1, 2, "0 vs 1"},
	} {
		assert.Equal(t, tt.want, Ratio(tt.x, tt.y, tt.prec), "%v/%v at %d", tt.x, tt.y, tt.prec)
	}
}

func TestWriteRatioZeroAllocs(t *testing.T) {
	a := Record{System: "protosocket", Scenario: "unary", ThroughputRPS: 700e3, P50us: 70, P99us: 240, P999us: 4130, AllocsPerOp: 0.004, CPUusPerOp: 1.4}
	b := Record{System: "raw", Scenario: "unary", ThroughputRPS: 230e3, P50us: 220, P99us: 2590, P999us: 5560, AllocsPerOp: 0.0049, CPUusPerOp: 4.7}
	var buf bytes.Buffer
	WriteRatio(&buf, a, b)
	assert.Contains(t, buf.String(), "allocs/op 0 vs 0")
	assert.Contains(t, buf.String(), "throughput 3.04x")
	assert.NotContains(t, buf.String(), "allocs/op 0.8")
}

func TestSteadiness(t *testing.T) {
	st := SteadinessOf([]float64{100, 104, 98, 101})
	assert.True(t, st.Known)
	assert.False(t, st.Noisy, "move %.2f", st.Move)
	assert.Equal(t, 0, st.Trend)
	// issue 23's grpc run: 56.8k, 26.8k, 16.8k per second.
	st = SteadinessOf([]float64{56.8e3, 26.8e3, 16.8e3})
	assert.True(t, st.Noisy)
	assert.Equal(t, -1, st.Trend)
	assert.InDelta(t, 16.8e3, st.Min, 1)
	assert.InDelta(t, 56.8e3, st.Max, 1)
	assert.InDelta(t, 1-16.8/56.8, st.Move, 1e-9)
	assert.Equal(t, 1, SteadinessOf([]float64{10, 20, 30}).Trend)
	assert.Equal(t, 0, SteadinessOf([]float64{10, 30, 20}).Trend)
	// Just under and just over the bar.
	assert.False(t, SteadinessOf([]float64{100, 71}).Noisy)
	assert.True(t, SteadinessOf([]float64{100, 69}).Noisy)
	// Fewer than two seconds: no verdict.
	assert.False(t, SteadinessOf([]float64{100}).Known)
	assert.False(t, SteadinessOf(nil).Known)
}

func TestNoisyLineInTable(t *testing.T) {
	r := Record{System: "grpc", Scenario: "unary", ThroughputRPS: 30e3, SecondMinRPS: 16.8e3, SecondMaxRPS: 56.8e3, Noisy: true}
	var buf bytes.Buffer
	assert.NoError(t, WriteTable(&buf, []Record{r}))
	assert.Contains(t, buf.String(), "grpc: NOISY: its per-second rate moved 70% (16.8k/s to 56.8k/s)")
	assert.Contains(t, buf.String(), "the machine changed under the run, or the system itself did")
	r.Trend = "falling"
	buf.Reset()
	assert.NoError(t, WriteTable(&buf, []Record{r}))
	assert.Contains(t, buf.String(), "falling every second")
}

func TestPayloadTable(t *testing.T) {
	recs := []Record{
		{System: "protosocket", PayloadBytes: 16, Concurrency: 64, ThroughputRPS: 600e3},
		{System: "raw", PayloadBytes: 16, Concurrency: 64, ThroughputRPS: 200e3},
		{System: "protosocket", PayloadBytes: 1 << 20, Concurrency: 16, ThroughputRPS: 1000, AllocsPerOp: 12.1, BytesPerOp: 4.58e6},
		{System: "raw", PayloadBytes: 1 << 20, Concurrency: 16, ThroughputRPS: 0, Errors: 3, FirstError: "frame too large"},
	}
	var buf bytes.Buffer
	assert.NoError(t, WritePayloadTable(&buf, recs))
	out := buf.String()
	assert.Contains(t, out, "protosocket ÷ this")
	assert.Contains(t, out, "3.00x")
	assert.Contains(t, out, "1000 vs 0")
	assert.Contains(t, out, "1 MiB")
	assert.Contains(t, out, "4.37 MiB")
	assert.Contains(t, out, "raw at 1 MiB: 3 errors, first: frame too large")
	assert.Equal(t, "16 B", FormatBytes(16))
	assert.Equal(t, "64 KiB", FormatBytes(64<<10))
	assert.Equal(t, "1500 B", FormatBytes(1500))
}

// The per-second CPU tells a rate that followed the CPU the machine gave
// the process (its rate per CPU-second steady) from one that moved on
// its own: psbench's grpc on a loaded machine, and a made-up system whose
// rate halves at a steady two cores.
func TestSteadinessWithCPU(t *testing.T) {
	// psbench -systems grpc,protosocket,raw -duration 12s, load 11 on 2
	// cores: grpc's seconds and the cores it got in each.
	st := SteadinessWithCPU([]float64{33.5e3, 10.5e3, 7385, 4761, 23.3e3}, []float64{0.78, 0.29, 0.17, 0.14, 0.51})
	assert.True(t, st.Noisy)
	assert.True(t, st.CPUKnown)
	assert.InDelta(t, 0.14, st.CPUMin, 1e-9)
	assert.InDelta(t, 0.78, st.CPUMax, 1e-9)
	assert.Less(t, st.PerCPUMove, NoisyMove)
	assert.True(t, st.FollowedCPU())

	st = SteadinessWithCPU([]float64{40e3, 20e3, 38e3}, []float64{1.98, 1.97, 1.99})
	assert.True(t, st.Noisy)
	assert.Greater(t, st.PerCPUMove, NoisyMove)
	assert.False(t, st.FollowedCPU())

	// Unknown CPU: no CPU verdict, the rate verdict stands.
	for _, cpu := range [][]float64{nil, {1, 1}, {1, 0, 1}} {
		st = SteadinessWithCPU([]float64{100, 50, 100}, cpu)
		assert.True(t, st.Noisy)
		assert.False(t, st.CPUKnown, "%v", cpu)
		assert.False(t, st.FollowedCPU())
	}
}

func TestNoisyLineSaysWhatMoved(t *testing.T) {
	r := Record{System: "grpc", Scenario: "unary", ThroughputRPS: 15e3, SecondMinRPS: 4761, SecondMaxRPS: 33.5e3, Noisy: true,
		SecondMinCPU: 0.14, SecondMaxCPU: 0.78, PerCPUMove: 0.26, Trend: "falling"}
	var buf bytes.Buffer
	assert.NoError(t, WriteTable(&buf, []Record{r}))
	out := buf.String()
	assert.Contains(t, out, "its rate followed the CPU the process used, 0.14 to 0.78 cores a second (rate per CPU-second moved only 26%)")
	// Less CPU used is not proof of a starved process: a system that
	// stalls by itself (on flow control) uses less too, so the line names
	// both causes and blames neither alone.
	assert.Contains(t, out, "the machine changed under the run, or the system itself stalled (CPU use cannot tell which)")
	assert.NotContains(t, out, "the machine changed under the run:")
	r.SecondMinCPU, r.SecondMaxCPU, r.PerCPUMove = 1.97, 1.99, 0.5
	buf.Reset()
	assert.NoError(t, WriteTable(&buf, []Record{r}))
	assert.Contains(t, buf.String(), "not only the CPU it got: at 1.97 to 1.99 cores a second its rate per CPU-second moved 50% too")
}

// The run-queue wait tells a process the machine starved (its threads
// waited for the CPU it lost) from a system that stalled by itself (it
// used less CPU and its threads did not wait for more); between the two,
// or without the wait, the line names both causes.
func TestNoisyLineTellsStarvedFromStalled(t *testing.T) {
	secs := []float64{400e3, 200e3, 390e3}
	cpu := []float64{1.0, 0.5, 0.98}
	for _, tt := range []struct {
		name             string
		wait             []float64
		starved, stalled bool
		line             string
	}{
		{"starved", []float64{0.05, 0.45, 0.06}, true, false,
			"the machine starved it: its rate followed the CPU it got, 0.50 to 1.00 cores a second (rate per CPU-second moved only 1%), and in its slowest second its threads waited 450 ms per second for a CPU (50 ms in its fastest)"},
		{"stalled", []float64{0.05, 0.04, 0.05}, false, true,
			"the system itself stalled: its rate followed the CPU it used, 0.50 to 1.00 cores a second (rate per CPU-second moved only 1%), but in its slowest second its threads waited 40 ms per second for a CPU (50 ms in its fastest) while it used 0.50 fewer cores: it had less to run"},
		{"between", []float64{0.05, 0.25, 0.05}, false, false,
			"the machine changed under the run, or the system itself stalled (CPU use cannot tell which)"},
		{"unknown", nil, false, false,
			"the machine changed under the run, or the system itself stalled (CPU use cannot tell which)"},
		// Counters that never moved (a VM whose schedstat is frozen) are no
		// evidence that nothing waited: not "the system itself stalled".
		{"frozen", []float64{0, 0, 0}, false, false,
			"the machine changed under the run, or the system itself stalled (CPU use cannot tell which)"},
	} {
		st := SteadinessWithWait(secs, cpu, tt.wait)
		require.True(t, st.FollowedCPU(), tt.name)
		assert.Equal(t, tt.starved, st.Starved(), tt.name)
		assert.Equal(t, tt.stalled, st.SelfStalled(), tt.name)
		assert.Equal(t, tt.wait != nil && tt.name != "frozen", st.WaitKnown, tt.name)
		rec := NewRecord(&load.Result{System: "sys", Options: load.Options{Scenario: load.Pipelined},
			Ops: 1e6, Elapsed: 3 * time.Second, Seconds: secs, SecondsCPU: cpu, SecondsWait: tt.wait})
		var buf bytes.Buffer
		require.NoError(t, WriteTable(&buf, []Record{rec}))
		assert.Contains(t, buf.String(), "sys: NOISY: its per-second rate moved 50%", tt.name)
		assert.Contains(t, buf.String(), tt.line, tt.name)
	}
	// A rate per CPU-second that moved too is the system's own, whatever
	// the wait.
	st := SteadinessWithWait([]float64{40e3, 20e3, 38e3}, []float64{1.98, 1.97, 1.99}, []float64{0, 0.9, 0})
	assert.False(t, st.Starved())
	assert.False(t, st.SelfStalled())
}
