package load

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flushStream is a nopStream that counts the Sends between two Flushes.
type flushStream struct {
	*nopStream
	pending, maxPending, flushes int
}

func (s *flushStream) Send(p []byte) error {
	s.pending++
	s.maxPending = max(s.maxPending, s.pending)
	return s.nopStream.Send(p)
}

func (s *flushStream) Flush() error {
	if s.pending > 0 {
		s.flushes++
	}
	s.pending = 0
	return nil
}

type flushClient struct {
	*nopClient
	st *flushStream
}

func (c *flushClient) OpenStream(ctx context.Context, i int) (Stream, error) {
	s, err := c.nopClient.OpenStream(ctx, i)
	if err != nil {
		return nil, err
	}
	c.st = &flushStream{nopStream: s.(*nopStream)}
	return c.st, nil
}

// An open-loop stream behind schedule (10M msgs/s offered, Sends of one
// virtual µs) never sleeps; the send loop still flushes whenever the
// oldest unflushed message was sent OpenLoopMaxHold ago, so a message
// waits for a Flush at most that long plus one Send: at the 2 µs default,
// at most 3 Sends per Flush. Before, it flushed only before a sleep or a
// wait for the window, and here held every message until the end.
func TestOpenLoopStreamFlushesBehindSchedule(t *testing.T) {
	for _, tt := range []struct {
		hold time.Duration
		max  int
	}{{0, 3}, {10 * time.Microsecond, 11}, {-1, 1}} {
		clk := &virtualClock{}
		c := &flushClient{nopClient: &nopClient{clk: clk, cost: int64(time.Microsecond), payload: 16}}
		cfg := Config{Options: Options{Scenario: Bidi, Conns: 1, Concurrency: 256, Payload: 16},
			Duration: 20 * time.Millisecond, Rate: 10_000_000, OpenLoopMaxHold: tt.hold, Grace: virtualGrace, clock: clk}
		cfg.EnsureDefaults()
		res, err := Run(context.Background(), c, cfg)
		require.NoError(t, err)
		require.Greater(t, res.Ops, int64(10_000))
		assert.LessOrEqual(t, c.st.maxPending, tt.max, "OpenLoopMaxHold %v: Sends between two Flushes", tt.hold)
		assert.Greater(t, c.st.flushes, int(res.Ops)/(tt.max+1), "OpenLoopMaxHold %v: flushes", tt.hold)
	}
}

// On schedule (1,000 msgs/s, Sends of one virtual µs), the loop flushes
// before every sleep: one Send per Flush, as before.
func TestOpenLoopStreamFlushesBeforeSleep(t *testing.T) {
	clk := &virtualClock{}
	c := &flushClient{nopClient: &nopClient{clk: clk, cost: int64(time.Microsecond), payload: 16}}
	cfg := Config{Options: Options{Scenario: Bidi, Conns: 1, Concurrency: 256, Payload: 16},
		Duration: 100 * time.Millisecond, Rate: 1000, Grace: virtualGrace, clock: clk}
	cfg.EnsureDefaults()
	res, err := Run(context.Background(), c, cfg)
	require.NoError(t, err)
	require.Equal(t, int64(100), res.Ops)
	assert.Equal(t, 1, c.st.maxPending)
}
