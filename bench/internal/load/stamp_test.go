package load

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingClock counts the reads of a virtual clock.
type countingClock struct {
	*virtualClock
	reads atomic.Int64
}

func (c *countingClock) Now() int64 { c.reads.Add(1); return c.virtualClock.Now() }

// checkedStream is a nopStream that checks, at each Send, the stamp the
// load loop put in the message against the clock: never later (latency
// would be under-stated), and how much earlier. Its Sends cost
// costAt(n) virtual ns (n counts from 1), nopClient's cost being 0.
type checkedStream struct {
	*nopStream
	clk    *virtualClock
	costAt func(n int64) int64
	// from is the first Send whose stamp age counts in maxAge and
	// violations (the ones before it settle the mode).
	from       int64
	bound      int64 // largest allowed age
	sends      atomic.Int64
	late       atomic.Int64 // stamps after the send
	maxAge     atomic.Int64
	violations atomic.Int64 // stamps older than bound
}

func (s *checkedStream) Send(p []byte) error {
	now, st := s.clk.Now(), Stamp(p)
	n := s.sends.Add(1)
	if st > now {
		s.late.Add(1)
	}
	if n >= s.from {
		if age := now - st; age > s.maxAge.Load() {
			s.maxAge.Store(age)
		}
		if now-st > s.bound {
			s.violations.Add(1)
		}
	}
	s.clk.advance(s.costAt(n))
	return s.nopStream.Send(p)
}

type checkedClient struct {
	*nopClient
	costAt      func(n int64) int64
	from, bound int64
	st          *checkedStream
}

func (c *checkedClient) OpenStream(ctx context.Context, i int) (Stream, error) {
	s, err := c.nopClient.OpenStream(ctx, i)
	if err != nil {
		return nil, err
	}
	c.st = &checkedStream{nopStream: s.(*nopStream), clk: c.clk, costAt: c.costAt, from: c.from, bound: c.bound}
	return c.st, nil
}

// stampRun runs one closed-loop pipelined stream (256 in flight) for 50
// virtual ms against a checkedClient.
func stampRun(t *testing.T, c *checkedClient, maxSend time.Duration) (res *Result, reads int64) {
	t.Helper()
	clk := &countingClock{virtualClock: &virtualClock{}}
	c.nopClient = &nopClient{clk: clk.virtualClock, payload: 16}
	cfg := Config{Options: Options{Scenario: Pipelined, Conns: 1, Concurrency: 256, Payload: 16},
		Duration: 50 * time.Millisecond, SharedStampMaxSend: maxSend, Grace: virtualGrace, clock: clk}
	cfg.EnsureDefaults()
	res, err := Run(context.Background(), c, cfg)
	require.NoError(t, err)
	assert.Zero(t, c.st.late.Load(), "a stamp after its send")
	return res, clk.reads.Load()
}

func fixedCost(d time.Duration) func(int64) int64 { return func(int64) int64 { return int64(d) } }

// With fast Sends (100 virtual ns each, under DefaultSharedStampMaxSend)
// the closed-loop stream send loop reads the clock once per stampEvery
// sends (plus after each wait for the window), not twice per message; a
// message's stamp is never after its Send and at most stampEvery-1 Sends
// before it, so latency is over-stated by at most that, never
// under-stated. The receive side still reads the clock once per message.
func TestClosedLoopStreamSharesStamps(t *testing.T) {
	const cost = 100 * time.Nanosecond
	c := &checkedClient{costAt: fixedCost(cost), from: 1, bound: int64(stampEvery-1) * int64(cost)}
	res, reads := stampRun(t, c, 0)
	sends := c.st.sends.Load()
	require.Greater(t, sends, int64(100_000))
	assert.Zero(t, c.st.violations.Load(), "a stamp more than %d sends old (max age %d ns)", stampEvery-1, c.st.maxAge.Load())
	assert.Equal(t, int64(stampEvery-1)*int64(cost), c.st.maxAge.Load(), "stamps are shared by %d sends", stampEvery)
	// One read per received message, about one per stampEvery sends, and
	// a few for the run itself.
	assert.Less(t, reads, res.Ops+sends/stampEvery*2+100, "%d clock reads for %d sends and %d receives", reads, sends, res.Ops)
}

// With slow Sends (5 virtual µs each, over DefaultSharedStampMaxSend)
// every message after the first burst has a stamp of its own: a shared
// one would be up to 31 x 5 µs old. Before, the loop shared the stamp
// whatever the Sends cost.
func TestClosedLoopStreamStampsSlowSendsPerMessage(t *testing.T) {
	const cost = 5 * time.Microsecond
	c := &checkedClient{costAt: fixedCost(cost), from: stampEvery + 1, bound: 0}
	res, reads := stampRun(t, c, 0)
	sends := c.st.sends.Load()
	require.Greater(t, sends, int64(5_000))
	assert.Zero(t, c.st.violations.Load(), "a shared stamp after the first burst (max age %d ns)", c.st.maxAge.Load())
	assert.GreaterOrEqual(t, reads, res.Ops+sends-stampEvery, "a read per send and per receive")

	// A negative SharedStampMaxSend stamps every message from the first,
	// whatever the Sends cost.
	c = &checkedClient{costAt: fixedCost(100 * time.Nanosecond), from: 1, bound: 0}
	stampRun(t, c, -1)
	assert.Zero(t, c.st.violations.Load(), "a shared stamp with SharedStampMaxSend < 0")
}

// The mode follows the Sends: fast, then slow (per message after one
// burst that shares a stamp among slow Sends), then fast again (shared
// again, reads drop).
func TestClosedLoopStreamStampModeFollowsSends(t *testing.T) {
	const fast, slow = int64(100 * time.Nanosecond), int64(5 * time.Microsecond)
	const slowFrom, slowTo = 10_000, 12_000
	cost := func(n int64) int64 {
		if n >= slowFrom && n < slowTo {
			return slow
		}
		return fast
	}
	// From the second slow burst on, no stamp is shared (the first may
	// share one among up to stampEvery-1 slow Sends).
	c := &checkedClient{costAt: cost, from: 1, bound: int64(stampEvery-1) * slow}
	stampRun(t, c, 0)
	require.Greater(t, c.st.sends.Load(), int64(slowTo+100_000))
	assert.Zero(t, c.st.violations.Load(), "max age %d ns", c.st.maxAge.Load())

	slowAfter := func(n int64) int64 {
		if n >= slowFrom {
			return slow
		}
		return fast
	}
	c = &checkedClient{costAt: slowAfter, from: slowFrom + 2*stampEvery, bound: 0}
	stampRun(t, c, 0)
	assert.Zero(t, c.st.violations.Load(), "a shared stamp two bursts after the Sends turned slow (max age %d ns)", c.st.maxAge.Load())

	// Fast again after slowTo: shared stamps are back (ages up to 31 fast
	// Sends), and no older than that.
	c = &checkedClient{costAt: cost, from: slowTo + 2*stampEvery, bound: (stampEvery - 1) * fast}
	stampRun(t, c, 0)
	assert.Zero(t, c.st.violations.Load(), "max age %d ns", c.st.maxAge.Load())
	assert.Equal(t, (stampEvery-1)*fast, c.st.maxAge.Load(), "shared again once the Sends are fast")
}
