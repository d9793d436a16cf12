package load

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modelProbe is a system whose p99.9 is 100 µs up to capacity and 50 ms
// beyond it, and that delivers at most capacity.
func modelProbe(capacity float64, calls *[]float64) Probe {
	return func(_ context.Context, rate float64) (*Result, error) {
		*calls = append(*calls, rate)
		lat := int64(100 * time.Microsecond)
		got := rate
		if rate > capacity {
			lat, got = int64(50*time.Millisecond), capacity
		}
		r := &Result{Rate: rate, Elapsed: time.Second, Ops: int64(got), Hist: newHist()}
		_ = r.Hist.RecordValues(lat, int64(got))
		return r, nil
	}
}

func TestSweepLogic(t *testing.T) {
	tests := []struct {
		name     string
		capacity float64
		cfg      SweepConfig
		wantLo   float64 // Best must be within (wantLo, wantHi]
		wantHi   float64
		bounded  bool
	}{
		{"doubles then bisects", 10000, SweepConfig{Start: 1000}, 8000, 10000, false},
		{"first step fails: goes down", 300, SweepConfig{Start: 1000}, 125, 300, false},
		{"more refinement is closer", 10000, SweepConfig{Start: 1000, Refine: 8}, 9800, 10000, false},
		{"step bound hit before failing", 1e12, SweepConfig{Start: 1000, MaxSteps: 4}, 7999, 8000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []float64
			res, err := Sweep(context.Background(), tt.cfg, modelProbe(tt.capacity, &calls))
			require.NoError(t, err)
			assert.Greater(t, res.Best, tt.wantLo)
			assert.LessOrEqual(t, res.Best, tt.wantHi)
			assert.Equal(t, tt.bounded, res.Bounded)
			assert.Len(t, res.Steps, len(calls))
			maxSteps := tt.cfg.MaxSteps
			if maxSteps == 0 {
				maxSteps = 12
			}
			assert.LessOrEqual(t, len(calls), maxSteps)
			for _, st := range res.Steps {
				assert.Equal(t, st.Rate <= tt.capacity, st.Pass, "rate %v: %s", st.Rate, st.Why)
			}
		})
	}
}

// A fake system with a virtual clock and capacity 10000/s (100 µs per
// call, one worker): the sweep, through the real load loop, must find a
// rate below its capacity and above the last doubling step.
func TestSweepFakeSystem(t *testing.T) {
	f := &fakeClient{cost: int64(100 * time.Microsecond)}
	res, err := Sweep(context.Background(), SweepConfig{Start: 1000}, func(ctx context.Context, rate float64) (*Result, error) {
		f.clk = &virtualClock{}
		return Run(ctx, f, Config{Options: Options{Concurrency: 1}, Duration: time.Second, Rate: rate, Grace: virtualGrace, clock: f.clk})
	})
	require.NoError(t, err)
	assert.Greater(t, res.Best, 8000.0)
	assert.LessOrEqual(t, res.Best, 10000.0)
	require.NotNil(t, res.BestResult)
	assert.Less(t, res.BestResult.Percentile(99.9), DefaultThreshold)
	var failed bool
	for _, st := range res.Steps {
		if !st.Pass {
			failed = true
			assert.Greater(t, st.Rate, 10000.0, "only rates above capacity fail")
		}
	}
	assert.True(t, failed, "the sweep must have crossed the capacity")
}

func TestSweepThresholdChangesResult(t *testing.T) {
	// A system whose p99.9 grows with the rate (1 µs per op/s): the
	// threshold decides where the sweep stops.
	probe := func(_ context.Context, rate float64) (*Result, error) {
		r := &Result{Rate: rate, Elapsed: time.Second, Ops: int64(rate), Hist: newHist()}
		_ = r.Hist.RecordValues(int64(rate)*int64(time.Microsecond), int64(rate))
		return r, nil
	}
	var bests []float64
	for _, th := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond} {
		res, err := Sweep(context.Background(), SweepConfig{Threshold: th, Start: 100, Refine: 6}, probe)
		require.NoError(t, err)
		assert.Less(t, res.Best, float64(th/time.Microsecond))
		assert.Greater(t, res.Best, 0.8*float64(th/time.Microsecond))
		bests = append(bests, res.Best)
	}
	assert.Greater(t, bests[1], 5*bests[0])
}

func TestSweepConfigValidate(t *testing.T) {
	for _, c := range []SweepConfig{{Factor: 1}, {Threshold: -1}, {Start: -1}, {MaxSteps: 1000}, {MinDelivered: 2}} {
		_, err := Sweep(context.Background(), c, nil)
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", c)
	}
}
