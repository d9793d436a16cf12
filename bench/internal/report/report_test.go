package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// RequiredKeys are the JSON keys issue 7 promises to scripts.
var RequiredKeys = []string{"system", "scenario", "payload_bytes", "connections", "concurrency", "offered_rps",
	"throughput_rps", "p50_us", "p90_us", "p99_us", "p999_us", "p9999_us", "allocs_per_op", "bytes_per_op",
	"gc_cycles", "cpu_us_per_op"}

func result(system string, rate float64, lat time.Duration, ops int64) *load.Result {
	h := hdrhistogram.New(1, int64(time.Minute), 3)
	_ = h.RecordValues(int64(lat), ops)
	return &load.Result{
		System:  system,
		Options: load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 64},
		Rate:    rate, Elapsed: time.Second, Ops: ops, Hist: h,
		Mallocs: uint64(ops) * 3, AllocBytes: uint64(ops) * 100, GCCycles: 2, CPU: time.Duration(ops) * time.Microsecond,
		Errors: 1, FirstError: errors.New("boom"),
	}
}

func TestJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	recs := []Record{NewRecord(result("raw", 0, 20*time.Microsecond, 1000)), NewRecord(result("grpc", 500, time.Millisecond, 500))}
	require.NoError(t, WriteJSON(&buf, recs))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "one object per system and scenario")
	for _, line := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		for _, k := range RequiredKeys {
			assert.Contains(t, m, k)
		}
	}
	var got Record
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &got))
	assert.Equal(t, "grpc", got.System)
	assert.Equal(t, 500.0, got.OfferedRPS)
	assert.True(t, got.OpenLoop)
	assert.InDelta(t, 1000, got.P999us, 1)
	assert.Equal(t, 3.0, got.AllocsPerOp)
	assert.Equal(t, 100.0, got.BytesPerOp)
	assert.Equal(t, 1.0, got.CPUusPerOp)
	assert.Equal(t, int64(1), got.Errors)
	assert.Equal(t, "boom", got.FirstError)
}

func TestSweepRecord(t *testing.T) {
	sr := &load.SweepResult{Best: 2000, BestResult: result("raw", 2000, time.Millisecond, 2000), Steps: []load.Step{
		{Rate: 1000, Pass: true, Result: result("raw", 1000, time.Millisecond, 1000)},
		{Rate: 2000, Pass: true, Result: result("raw", 2000, time.Millisecond, 2000)},
		{Rate: 4000, Why: "p99.9 too high", Result: result("raw", 4000, 9*time.Millisecond, 4000)},
	}}
	rec := NewSweepRecord("raw", 5*time.Millisecond, sr)
	require.NotNil(t, rec.Sweep)
	assert.Equal(t, 2000.0, rec.Sweep.MaxRateRPS)
	assert.Equal(t, 2000.0, rec.OfferedRPS)
	assert.Len(t, rec.Sweep.Steps, 3)
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, []Record{rec}))
	assert.Contains(t, buf.String(), "highest rate with p99.9 < 5.00ms: 2000/s")
	assert.Contains(t, buf.String(), "fail: p99.9 too high")
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	a, b := NewRecord(result("raw", 0, 20*time.Microsecond, 1000)), NewRecord(result("grpc", 0, 100*time.Microsecond, 250))
	require.NoError(t, WriteTable(&buf, []Record{a, b}))
	WriteRatio(&buf, a, b)
	out := buf.String()
	for _, want := range []string{"raw", "grpc", "unary, 16 B payload, 1 connection, 64 callers, closed loop\n", "20.0µs", "100.0µs", "raw: 1 errors, first: boom", "ratio raw/grpc (unary): throughput 4.00x, p50 0.20x"} {
		assert.Contains(t, out, want)
	}
}

// Records that differ in their set-up get the long form: one column each.
func TestTableMixed(t *testing.T) {
	a, b := NewRecord(result("raw", 0, 20*time.Microsecond, 1000)), NewRecord(result("raw", 500, 30*time.Microsecond, 500))
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, []Record{a, b}))
	out := buf.String()
	assert.Contains(t, out, "offered/s")
	assert.Contains(t, out, "closed")
	assert.NotContains(t, out, "closed loop")
}

func TestCharts(t *testing.T) {
	series := []Series{
		{System: "raw", Points: []Point{{1000, 20, 30, 40, 50}, {2000, 22, 35, 60, 90}}, Throughput: []float64{1000, 2000, 1900}},
		{System: "grpc", Points: []Point{{1000, 200, 300, 400, 900}}, Throughput: []float64{900, 1000}, ThresholdUs: 5000},
	}
	var svg, pngBuf bytes.Buffer
	require.NoError(t, WriteSVG(&svg, series))
	assert.Contains(t, svg.String(), "<svg")
	assert.Contains(t, svg.String(), "grpc: latency vs offered rate")
	assert.Contains(t, svg.String(), "p99.9 bound 5.00ms", "the sweep's threshold is drawn and named")
	require.NoError(t, WritePNG(&pngBuf, series))
	raw := bytes.Clone(pngBuf.Bytes())
	img, err := png.Decode(&pngBuf)
	require.NoError(t, err)
	assert.Equal(t, 2*5*96, img.Bounds().Dx())
	if dir := os.Getenv("PSBENCH_CHART_DIR"); dir != "" { // for looking at the charts
		require.NoError(t, os.WriteFile(dir+"/chart_test.png", raw, 0o644))
	}
	require.ErrorIs(t, WriteSVG(&svg, nil), ErrNoData)
}

func ExampleFormatUs() {
	for _, v := range []float64{17.25, 4800, 2.5e6} {
		fmt.Println(FormatUs(v))
	}
	// Output:
	// 17.2µs
	// 4.80ms
	// 2.50s
}

func ExampleWriteRatio() {
	a := Record{System: "raw", Scenario: "unary", ThroughputRPS: 200000, P50us: 280, P99us: 700, P999us: 4000, AllocsPerOp: 0.1, CPUusPerOp: 8}
	b := Record{System: "grpc", Scenario: "unary", ThroughputRPS: 40000, P50us: 1400, P99us: 5000, P999us: 8000, AllocsPerOp: 150, CPUusPerOp: 44}
	WriteRatio(os.Stdout, a, b)
	// Output:
	// ratio raw/grpc (unary): throughput 5.00x, p50 0.20x, p99 0.14x, p99.9 0.50x, allocs/op 0.00x, cpu/op 0.18x
}
