package load

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

const ms = int64(time.Millisecond)

// virtualRun runs one worker against a fake client on a virtual clock.
func virtualRun(t *testing.T, f *fakeClient, rate float64, d time.Duration) *Result {
	t.Helper()
	f.clk = &virtualClock{}
	cfg := Config{Options: Options{Concurrency: 1}, Duration: d, Rate: rate, Grace: virtualGrace, clock: f.clk}
	res, err := Run(context.Background(), f, cfg)
	require.NoError(t, err)
	return res
}

// A single 200 ms stall in an open-loop run at 1000/s delays the 200
// operations scheduled during it; measured from their scheduled times they
// fill the tail. A closed loop (coordinated omission) records the stall
// only once.
func TestOpenLoopLatencyFromScheduledTime(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		wantOps  int64
		checkP99 func(t *testing.T, p99 time.Duration)
	}{
		{"open loop shows the stall in the tail", 1000, 1000, func(t *testing.T, p99 time.Duration) {
			// 200 of 1000 samples spread over 1..200 ms: p99 is about 190 ms.
			assert.InDelta(t, 190*ms, int64(p99), float64(2*ms), "p99 = %v", p99)
		}},
		{"closed loop hides it", 0, 0, func(t *testing.T, p99 time.Duration) {
			assert.Equal(t, 10*time.Microsecond, p99.Round(time.Microsecond))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeClient{cost: 10 * int64(time.Microsecond), stallAt: 100, stall: 200 * ms}
			res := virtualRun(t, f, tt.rate, time.Second)
			if tt.wantOps > 0 {
				assert.Equal(t, tt.wantOps, res.Ops, "one operation per scheduled slot")
			}
			assert.Zero(t, res.Errors)
			assert.Equal(t, 200*time.Millisecond, res.Percentile(100).Round(time.Millisecond))
			tt.checkP99(t, res.Percentile(99))
		})
	}
}

func TestOpenLoopSchedule(t *testing.T) {
	// With no stall and cheap calls every op runs on its slot: the rate
	// sets the count and latency is the call's own cost.
	for _, rate := range []float64{10, 500, 20000} {
		f := &fakeClient{cost: int64(time.Microsecond)}
		res := virtualRun(t, f, rate, 2*time.Second)
		assert.Equal(t, int64(2*rate), res.Ops, "rate %v", rate)
		assert.Equal(t, time.Microsecond, res.Percentile(99.99).Round(10*time.Nanosecond))
		assert.InDelta(t, rate, res.Throughput(), rate*0.01)
	}
}

func TestErrorsAreCounted(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeClient{cost: int64(time.Millisecond), fail: boom, clk: &virtualClock{}}
	res, err := Run(context.Background(), f, Config{Options: Options{Concurrency: 1}, Duration: time.Second, Rate: 100, Grace: virtualGrace, clock: f.clk})
	require.ErrorIs(t, err, ErrNoProgress)
	require.NotNil(t, res)
	assert.Equal(t, int64(100), res.Errors)
	assert.Zero(t, res.Ops)
	assert.ErrorIs(t, res.FirstError, boom)
}

func TestLoadLoopDoesNotAllocate(t *testing.T) {
	testenv.SkipIfRace(t)
	f := &fakeClient{cost: int64(time.Microsecond)}
	res := virtualRun(t, f, 0, time.Second)
	require.Equal(t, int64(1_000_000), res.Ops)
	// A handful of allocations for the whole run, none per operation.
	assert.Less(t, res.AllocsPerOp(), 0.001, "mallocs %d over %d ops", res.Mallocs, res.Ops)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"zero value is valid", Config{}, ""},
		{"bad scenario", Config{Options: Options{Scenario: "nope"}}, "Scenario"},
		{"negative payload", Config{Options: Options{Payload: -1}}, "Payload"},
		{"huge payload", Config{Options: Options{Payload: MaxPayload + 1}}, "Payload"},
		{"stream needs a stamp", Config{Options: Options{Scenario: Pipelined, Payload: 4}}, "Payload"},
		{"negative conns", Config{Options: Options{Conns: -1}}, "Conns"},
		{"too many callers", Config{Options: Options{Concurrency: MaxConcurrency + 1}}, "Concurrency"},
		{"negative duration", Config{Duration: -time.Second}, "Duration"},
		{"negative rate", Config{Rate: -1}, "Rate"},
		{"open loop server stream", Config{Options: Options{Scenario: ServerStream}, Rate: 10}, "Rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.EnsureDefaults()
			err := cfg.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				assert.Equal(t, Unary, cfg.Scenario)
				assert.Equal(t, DefaultPayload, cfg.Payload)
				assert.Equal(t, DefaultConcurrency, cfg.Concurrency)
				assert.Equal(t, DefaultDuration, cfg.Duration)
				return
			}
			require.ErrorIs(t, err, ErrInvalidOptions)
			var ce *OptionError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	_, err := Run(context.Background(), &fakeClient{}, Config{Rate: -5})
	require.ErrorIs(t, err, ErrInvalidOptions)
}

func TestParseScenario(t *testing.T) {
	for _, sc := range Scenarios {
		got, err := ParseScenario(string(sc))
		require.NoError(t, err)
		assert.Equal(t, sc, got)
	}
	_, err := ParseScenario("unry")
	require.ErrorIs(t, err, ErrInvalidOptions)
}

func TestStamp(t *testing.T) {
	p := make([]byte, 16)
	PutStamp(p, 123456789)
	assert.Equal(t, int64(123456789), Stamp(p))
	assert.Zero(t, Stamp(p[:4]))
}

func TestResultMerge(t *testing.T) {
	f := &fakeClient{cost: int64(time.Millisecond)}
	a := virtualRun(t, f, 100, time.Second)
	f.calls.Store(0)
	b := virtualRun(t, f, 100, time.Second)
	a.Merge(b)
	assert.Equal(t, int64(200), a.Ops)
	assert.Equal(t, int64(200), a.Hist.TotalCount())
	assert.Equal(t, 2*time.Second, a.Elapsed.Round(10*time.Millisecond))
}

// The open-loop pacer hands every scheduled send to one of many idle
// workers: the count is the rate's, none is lost or sent twice, and each
// latency is the call's own cost.
func TestOpenLoopPacerManyWorkers(t *testing.T) {
	for _, workers := range []int{1, 8, 64} {
		f := &fakeClient{cost: 3 * int64(time.Microsecond), clk: &virtualClock{}}
		cfg := Config{Options: Options{Concurrency: workers}, Duration: time.Second, Rate: 5000, Grace: virtualGrace, clock: f.clk}
		res, err := Run(context.Background(), f, cfg)
		require.NoError(t, err)
		assert.Equal(t, int64(5000), res.Ops, "workers %d", workers)
		assert.Equal(t, int64(5000), f.calls.Load(), "workers %d", workers)
		assert.Equal(t, 3*time.Microsecond, res.Percentile(100).Round(10*time.Nanosecond), "workers %d", workers)
	}
}

// sleepClient is a unary Client on the real clock whose calls sleep nap
// (100 µs if zero).
type sleepClient struct{ nap time.Duration }

func (c sleepClient) NewCaller(int) (Caller, error) {
	if c.nap == 0 {
		c.nap = 100 * time.Microsecond
	}
	return sleepCaller(c), nil
}
func (sleepClient) OpenStream(context.Context, int) (Stream, error) {
	return nil, errors.New("sleep: no streams")
}
func (sleepClient) Close() error { return nil }

type sleepCaller struct{ nap time.Duration }

func (c sleepCaller) Call(context.Context, []byte) error {
	time.Sleep(c.nap)
	return nil
}
func (sleepCaller) Close() error { return nil }

// The per-second rates a Result keeps are exactly those the progress
// lines printed (psbench judges a run noisy from them), the last second
// included when half of it ran.
func TestSecondsAreTheProgressRates(t *testing.T) {
	var printed, printedCPU []float64
	cfg := Config{Options: Options{Concurrency: 4}, Duration: 1600 * time.Millisecond,
		Progress: func(p Progress) { printed, printedCPU = append(printed, p.Rate), append(printedCPU, p.CPU) }}
	res, err := Run(context.Background(), sleepClient{}, cfg)
	require.NoError(t, err)
	require.NotEmpty(t, res.Seconds)
	assert.Equal(t, printed, res.Seconds)
	assert.Equal(t, printedCPU, res.SecondsCPU, "the CPU of each of those seconds")
	for _, v := range res.Seconds {
		assert.Positive(t, v)
	}
	for _, v := range res.SecondsCPU {
		assert.GreaterOrEqual(t, v, 0.0)
		assert.LessOrEqual(t, v, float64(runtime.NumCPU())+0.5) // cores a second, with some slack for the sampling
	}
	if _, ok := runQueueWait(); ok { // Linux with /proc/self/task/*/schedstat
		assert.Len(t, res.SecondsWait, len(res.Seconds), "the run-queue wait of each second")
		for _, v := range res.SecondsWait {
			assert.GreaterOrEqual(t, v, 0.0)
		}
	} else {
		assert.Nil(t, res.SecondsWait)
	}
}

// A second that burns CPU shows it in SecondsCPU; one that sleeps does
// not (the per-second CPU is the process's, not a constant), and no
// second shows more CPU than the whole run used (Result.CPU).
//
// The run's own loop naps 5 ms per call, so the idle second uses next to
// no CPU whatever the machine does (a loaded machine can only give it
// less); the busy one has 2 x NumCPU spinning goroutines (and Ps, so
// threads) next to it, which get a share of the machine even when other
// jobs load every core (the kernel shares the CPUs among runnable
// threads): with one spinner, at load average 24 on 2 cores, it got 0.06
// of a core. With 100 µs naps the loop itself used 0.1-0.3 of a core, as
// much as a starved spinner got, and the comparison failed about once in
// 14 runs on a loaded machine.
func TestSecondsCPUFollowsTheProcess(t *testing.T) {
	spinners := 2 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(spinners))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range spinners {
		wg.Go(func() {
			for !stop.Load() { // spins on purpose: the CPU the run must see
			}
		})
	}
	cfg := Config{Options: Options{Concurrency: 1}, Duration: 1100 * time.Millisecond}
	client := sleepClient{nap: 5 * time.Millisecond}
	busy, err := Run(context.Background(), client, cfg)
	stop.Store(true)
	wg.Wait()
	require.NoError(t, err)
	idle, err := Run(context.Background(), client, cfg)
	require.NoError(t, err)
	// The first second of each (a stalled ticker may add a second one).
	require.NotEmpty(t, busy.SecondsCPU)
	require.NotEmpty(t, idle.SecondsCPU)
	t.Logf("first second: busy %.3f cores, idle %.3f", busy.SecondsCPU[0], idle.SecondsCPU[0])
	for _, r := range []*Result{busy, idle} {
		// A second lies inside the run and lasts about 1 s at least (its
		// ticker starts a moment before the second's first reading).
		assert.LessOrEqual(t, r.SecondsCPU[0], r.CPU.Seconds()/0.9+0.002,
			"the first second's CPU (cores) against the whole run's (%v)", r.CPU)
	}
	assert.Greater(t, busy.SecondsCPU[0], idle.SecondsCPU[0]+0.02,
		"%d spinning goroutines next to the run (busy %.3f cores, idle %.3f)", spinners, busy.SecondsCPU[0], idle.SecondsCPU[0])
}
