package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// SweepConfig bounds a Sweep. Its zero value works: threshold 5 ms,
// doubling from 1000/s, at most 12 steps of which 3 refine the boundary,
// and one minute in all.
type SweepConfig struct {
	// Threshold is the p99.9 latency a rate must stay under.
	Threshold time.Duration
	// Start is the first offered rate (operations per second).
	Start float64
	// Factor multiplies the rate after each passing step (> 1).
	Factor float64
	// MaxSteps bounds the number of probes, refinement included.
	MaxSteps int
	// Refine is the number of bisection probes between the highest
	// passing and the lowest failing rate.
	Refine int
	// Budget bounds the total time; no probe starts after it is spent.
	Budget time.Duration
	// MinDelivered is the fraction of the offered rate a step must
	// complete to pass (default 0.95): a system that cannot keep up fails
	// even if the few replies it returns are fast.
	MinDelivered float64
}

// Sweep defaults.
const (
	DefaultThreshold = 5 * time.Millisecond
	DefaultSweepRate = 1000
)

// EnsureDefaults fills zero fields with their defaults.
func (c *SweepConfig) EnsureDefaults() {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Start == 0 {
		c.Start = DefaultSweepRate
	}
	if c.Factor == 0 {
		c.Factor = 2
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = 12
	}
	if c.Refine == 0 {
		c.Refine = 3
	}
	if c.Budget == 0 {
		c.Budget = time.Minute
	}
	if c.MinDelivered == 0 {
		c.MinDelivered = 0.95
	}
}

// Validate reports the first bad field as a *OptionError.
func (c *SweepConfig) Validate() error {
	bad := func(field string, v any, reason string) error {
		return &OptionError{Field: field, Value: v, Reason: reason}
	}
	switch {
	case c.Threshold <= 0:
		return bad("Threshold", c.Threshold, "must be positive")
	case c.Start <= 0 || math.IsInf(c.Start, 0) || math.IsNaN(c.Start):
		return bad("Start", c.Start, "must be a positive rate")
	case c.Factor <= 1 || math.IsInf(c.Factor, 0) || math.IsNaN(c.Factor):
		return bad("Factor", c.Factor, "must be above 1")
	case c.MaxSteps < 1 || c.MaxSteps > 100:
		return bad("MaxSteps", c.MaxSteps, "must be within 1..100")
	case c.Refine < 0:
		return bad("Refine", c.Refine, "must not be negative")
	case c.Budget < 0:
		return bad("Budget", c.Budget, "must not be negative")
	case c.MinDelivered < 0 || c.MinDelivered > 1:
		return bad("MinDelivered", c.MinDelivered, "must be within 0..1")
	}
	return nil
}

// Step is one probe of a sweep.
type Step struct {
	Rate   float64
	Result *Result
	Pass   bool
	// Why says why the step failed ("" when it passed).
	Why string
}

// SweepResult is the outcome of a Sweep.
type SweepResult struct {
	Steps []Step
	// Best is the highest passing rate, 0 if none passed.
	Best float64
	// BestResult is the Result of that step (nil if none passed).
	BestResult *Result
	// Bounded is true when the steps or the time budget ran out before
	// a failing rate was found above Best.
	Bounded bool
}

// Probe runs the system at one offered rate and returns its Result.
type Probe func(ctx context.Context, rate float64) (*Result, error)

// Sweep raises the offered rate geometrically from cfg.Start while each
// step's p99.9 stays under cfg.Threshold (with no errors and the offered
// rate delivered), then bisects between the last passing and the first
// failing rate. If the first step already fails it lowers the rate
// instead. It stops after cfg.MaxSteps probes or cfg.Budget.
func Sweep(ctx context.Context, cfg SweepConfig, probe Probe) (*SweepResult, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	out := &SweepResult{}
	try := func(rate float64) (bool, error) {
		res, err := probe(ctx, rate)
		if err != nil && !errors.Is(err, ErrNoProgress) {
			return false, fmt.Errorf("load: sweep at %.0f/s: %w", rate, err)
		}
		st := Step{Rate: rate, Result: res}
		st.Pass, st.Why = judge(cfg, rate, res)
		out.Steps = append(out.Steps, st)
		if st.Pass && rate > out.Best {
			out.Best, out.BestResult = rate, res
		}
		return st.Pass, nil
	}
	more := func() bool {
		return len(out.Steps) < cfg.MaxSteps && time.Since(began) < cfg.Budget && ctx.Err() == nil
	}

	lo, hi := 0.0, 0.0 // highest pass, lowest fail
	for rate := cfg.Start; more(); {
		pass, err := try(rate)
		if err != nil {
			return out, err
		}
		if pass {
			lo = rate
			if hi > 0 {
				break
			}
			rate *= cfg.Factor
		} else {
			hi = rate
			if lo > 0 {
				break
			}
			rate /= cfg.Factor // nothing passed yet: go down
		}
	}
	for range cfg.Refine {
		if lo == 0 || hi == 0 || !more() {
			break
		}
		mid := math.Sqrt(lo * hi)
		pass, err := try(mid)
		if err != nil {
			return out, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	out.Bounded = hi == 0
	return out, ctx.Err()
}

func judge(cfg SweepConfig, rate float64, r *Result) (bool, string) {
	switch {
	case r == nil || r.Ops == 0:
		return false, "nothing completed"
	case r.Errors > 0:
		return false, fmt.Sprintf("%d errors", r.Errors)
	case r.Throughput() < cfg.MinDelivered*rate:
		return false, fmt.Sprintf("delivered %.0f/s of %.0f/s", r.Throughput(), rate)
	case r.Percentile(99.9) >= cfg.Threshold:
		return false, fmt.Sprintf("p99.9 %v >= %v", r.Percentile(99.9), cfg.Threshold)
	}
	return true, ""
}
