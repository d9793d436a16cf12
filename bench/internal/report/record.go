package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// Record is the JSON form of one system's result on one scenario.
// Latencies are in microseconds; per-op figures cover the whole process
// (client and server when both run in it).
type Record struct {
	System        string  `json:"system"`
	Scenario      string  `json:"scenario"`
	PayloadBytes  int     `json:"payload_bytes"`
	Connections   int     `json:"connections"`
	Concurrency   int     `json:"concurrency"`
	OpenLoop      bool    `json:"open_loop"`
	OfferedRPS    float64 `json:"offered_rps"`
	ThroughputRPS float64 `json:"throughput_rps"`
	P50us         float64 `json:"p50_us"`
	P90us         float64 `json:"p90_us"`
	P99us         float64 `json:"p99_us"`
	P999us        float64 `json:"p999_us"`
	P9999us       float64 `json:"p9999_us"`
	MaxUs         float64 `json:"max_us"`
	Ops           int64   `json:"ops"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	AllocsPerOp   float64 `json:"allocs_per_op"`
	BytesPerOp    float64 `json:"bytes_per_op"`
	GCCycles      uint32  `json:"gc_cycles"`
	CPUusPerOp    float64 `json:"cpu_us_per_op"`
	DurationS     float64 `json:"duration_s"`
	// SecondMinRPS and SecondMaxRPS are the slowest and fastest full
	// second of the measured window (0 with fewer than two seconds);
	// Noisy says they are more than NoisyMove apart.
	SecondMinRPS float64 `json:"second_min_rps"`
	SecondMaxRPS float64 `json:"second_max_rps"`
	Noisy        bool    `json:"noisy"`
	// SecondMinCPU and SecondMaxCPU are the lowest and highest process
	// CPU per wall second (cores) of those seconds, and PerCPUMove how
	// far their rate per CPU-second moved (Steadiness); zero when unknown.
	SecondMinCPU float64 `json:"second_min_cpu,omitempty"`
	SecondMaxCPU float64 `json:"second_max_cpu,omitempty"`
	PerCPUMove   float64 `json:"per_cpu_move,omitempty"`
	// SlowCPU and FastCPU are the process CPU (cores) of the slowest and
	// the fastest second, SlowWait and FastWait how long its threads
	// waited on a run queue per wall second in them; WaitKnown says the
	// wait was read (Linux).
	WaitKnown bool    `json:"runq_wait_known,omitempty"`
	SlowCPU   float64 `json:"slowest_second_cpu,omitempty"`
	FastCPU   float64 `json:"fastest_second_cpu,omitempty"`
	SlowWait  float64 `json:"slowest_second_runq_wait,omitempty"`
	FastWait  float64 `json:"fastest_second_runq_wait,omitempty"`
	// Trend is "rising" when every measured second was faster than the
	// one before, "falling" when every one was slower, else empty.
	Trend string `json:"trend,omitempty"`
	// Sweep is set for -sweep runs; the figures above are then those of
	// the highest passing step (or the last step if none passed).
	Sweep *SweepRecord `json:"sweep,omitempty"`
}

// SweepRecord summarizes a sweep.
type SweepRecord struct {
	ThresholdUs float64      `json:"p999_threshold_us"`
	MaxRateRPS  float64      `json:"max_rate_rps"`
	Bounded     bool         `json:"bounded"`
	Steps       []StepRecord `json:"steps"`
}

// StepRecord is one sweep step.
type StepRecord struct {
	OfferedRPS    float64 `json:"offered_rps"`
	ThroughputRPS float64 `json:"throughput_rps"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	P999us        float64 `json:"p999_us"`
	Errors        int64   `json:"errors"`
	Pass          bool    `json:"pass"`
	Why           string  `json:"why,omitempty"`
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// NewRecord converts r.
func NewRecord(r *load.Result) Record {
	rec := Record{
		System:        r.System,
		Scenario:      string(r.Scenario),
		PayloadBytes:  r.Payload,
		Connections:   r.Conns,
		Concurrency:   r.Concurrency,
		OpenLoop:      r.Rate > 0,
		OfferedRPS:    r.OfferedRate(),
		ThroughputRPS: r.Throughput(),
		P50us:         us(r.Percentile(50)),
		P90us:         us(r.Percentile(90)),
		P99us:         us(r.Percentile(99)),
		P999us:        us(r.Percentile(99.9)),
		P9999us:       us(r.Percentile(99.99)),
		MaxUs:         us(r.Percentile(100)),
		Ops:           r.Ops,
		Errors:        r.Errors,
		AllocsPerOp:   r.AllocsPerOp(),
		BytesPerOp:    r.BytesPerOp(),
		GCCycles:      r.GCCycles,
		CPUusPerOp:    r.CPUPerOp(),
		DurationS:     r.Elapsed.Seconds(),
	}
	if r.FirstError != nil {
		rec.FirstError = r.FirstError.Error()
	}
	if st := steadinessOf(r); st.Known {
		rec.SecondMinRPS, rec.SecondMaxRPS, rec.Noisy = st.Min, st.Max, st.Noisy
		rec.Trend = map[int]string{1: "rising", -1: "falling"}[st.Trend]
		if st.CPUKnown {
			rec.SecondMinCPU, rec.SecondMaxCPU, rec.PerCPUMove = st.CPUMin, st.CPUMax, st.PerCPUMove
		}
		if st.WaitKnown {
			rec.WaitKnown = true
			rec.SlowCPU, rec.FastCPU, rec.SlowWait, rec.FastWait = st.CPUSlow, st.CPUFast, st.WaitSlow, st.WaitFast
		}
	}
	return rec
}

// NewSweepRecord converts a sweep of system: the record's main figures are
// the best step's (or the last step's if none passed).
func NewSweepRecord(system string, threshold time.Duration, s *load.SweepResult) Record {
	var rec Record
	best := s.BestResult
	if best == nil && len(s.Steps) > 0 {
		best = s.Steps[len(s.Steps)-1].Result
	}
	if best != nil {
		rec = NewRecord(best)
	}
	rec.System = system
	sw := &SweepRecord{ThresholdUs: us(threshold), MaxRateRPS: s.Best, Bounded: s.Bounded}
	for _, st := range s.Steps {
		sr := StepRecord{OfferedRPS: st.Rate, Pass: st.Pass, Why: st.Why}
		if st.Result != nil {
			sr.ThroughputRPS = st.Result.Throughput()
			sr.P50us = us(st.Result.Percentile(50))
			sr.P99us = us(st.Result.Percentile(99))
			sr.P999us = us(st.Result.Percentile(99.9))
			sr.Errors = st.Result.Errors
		}
		sw.Steps = append(sw.Steps, sr)
	}
	rec.Sweep = sw
	return rec
}

// WriteJSON writes one JSON object per line (JSON Lines), one per record.
func WriteJSON(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
