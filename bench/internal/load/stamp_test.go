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
// would be under-stated), and never more than stampEvery-1 Sends earlier.
type checkedStream struct {
	*nopStream
	clk        *virtualClock
	sends      atomic.Int64
	late       atomic.Int64 // stamps after the send
	maxAge     atomic.Int64
	violations atomic.Int64 // stamps older than the bound
}

func (s *checkedStream) Send(p []byte) error {
	now, st := s.clk.Now(), Stamp(p)
	s.sends.Add(1)
	if st > now {
		s.late.Add(1)
	}
	if age := now - st; age > s.maxAge.Load() {
		s.maxAge.Store(age)
	}
	if now-st > int64(stampEvery-1)*s.c.cost {
		s.violations.Add(1)
	}
	return s.nopStream.Send(p)
}

type checkedClient struct {
	*nopClient
	st *checkedStream
}

func (c *checkedClient) OpenStream(ctx context.Context, i int) (Stream, error) {
	s, err := c.nopClient.OpenStream(ctx, i)
	if err != nil {
		return nil, err
	}
	c.st = &checkedStream{nopStream: s.(*nopStream), clk: c.clk}
	return c.st, nil
}

// The closed-loop stream send loop reads the clock once per stampEvery
// sends (plus after each wait for the window), not twice per message; a
// message's stamp is never after its Send and at most stampEvery-1 Sends
// (of one virtual µs each here) before it, so latency is over-stated by
// at most that, never under-stated. The receive side still reads the
// clock once per message.
func TestClosedLoopStreamSharesStamps(t *testing.T) {
	clk := &countingClock{virtualClock: &virtualClock{}}
	c := &checkedClient{nopClient: &nopClient{clk: clk.virtualClock, cost: int64(time.Microsecond), payload: 16}}
	cfg := Config{Options: Options{Scenario: Pipelined, Conns: 1, Concurrency: 256, Payload: 16}, Duration: 50 * time.Millisecond, clock: clk}
	cfg.EnsureDefaults()
	cfg.Warmup = 0
	res, err := Run(context.Background(), c, cfg)
	require.NoError(t, err)
	sends := c.st.sends.Load()
	require.Greater(t, sends, int64(10_000))
	assert.Zero(t, c.st.late.Load(), "a stamp after its send")
	assert.Zero(t, c.st.violations.Load(), "a stamp more than %d sends old (max age %d ns)", stampEvery-1, c.st.maxAge.Load())
	assert.Positive(t, c.st.maxAge.Load(), "stamps are shared")
	// One read per received message, about one per stampEvery sends, and
	// a few for the run itself.
	reads := clk.reads.Load()
	assert.Less(t, reads, res.Ops+sends/stampEvery*2+100, "%d clock reads for %d sends and %d receives", reads, sends, res.Ops)
}
