package load

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// virtualGrace is Config.Grace for runs on a virtualClock. Run bounds a
// phase by a real-time timer (Duration + Grace of real time) whatever the
// clock; a virtual run must end by its virtual deadline, not by that
// timer, or its counts depend on the machine's speed: under -race on a
// loaded machine 500,000 virtual sends (TestClosedLoopStreamSharesStamps)
// took 1.8 s and more of the default 2 s, and the 200,000 of
// TestOpenLoopStreamFlushesBehindSchedule were cut short at 198,305.
// It still ends a run that hangs.
const virtualGrace = time.Minute

// virtualClock is a clock that only moves when told: operations advance
// it by their cost and SleepUntil jumps to the target. With one worker the
// whole run is deterministic.
type virtualClock struct{ now atomic.Int64 }

func (c *virtualClock) Now() int64 { return c.now.Load() }

func (c *virtualClock) SleepUntil(t int64) {
	if t > c.now.Load() {
		c.now.Store(t)
	}
}

// WaitUntil lets the operations in flight finish (they advance the
// clock by their cost) before it jumps to t.
func (c *virtualClock) WaitUntil(t int64, busy *atomic.Int64) {
	for busy.Load() > 0 {
		runtime.Gosched()
	}
	c.SleepUntil(t)
}

func (c *virtualClock) advance(d int64) { c.now.Add(d) }

// fakeClient is a unary-only Client whose calls cost a fixed virtual time,
// one of them (stallAt, 1-based; 0 for none) much longer.
type fakeClient struct {
	clk     *virtualClock
	cost    int64
	stallAt int64
	stall   int64
	fail    error
	calls   atomic.Int64
}

func (f *fakeClient) NewCaller(int) (Caller, error) { return fakeCaller{f}, nil }

func (f *fakeClient) OpenStream(context.Context, int) (Stream, error) {
	return nil, errors.New("fake: no streams")
}

func (f *fakeClient) Close() error { return nil }

type fakeCaller struct{ f *fakeClient }

func (c fakeCaller) Call(context.Context, []byte) error {
	n := c.f.calls.Add(1)
	if n == c.f.stallAt {
		c.f.clk.advance(c.f.stall)
	} else {
		c.f.clk.advance(c.f.cost)
	}
	return c.f.fail
}

func (fakeCaller) Close() error { return nil }
