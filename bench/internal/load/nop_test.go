package load

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

// nopClient is a system that allocates nothing per operation: a call or a
// send only advances the virtual clock by cost, and a stream's Recv hands
// back the time stamp of the oldest message sent, in a buffer made when
// the stream was opened. Whatever a run of it allocates is the load loop's.
type nopClient struct {
	clk     *virtualClock
	cost    int64
	payload int
}

func (c *nopClient) NewCaller(int) (Caller, error) { return nopCaller{c}, nil }

func (c *nopClient) OpenStream(context.Context, int) (Stream, error) {
	return &nopStream{c: c, stamps: make(chan int64, MaxConcurrency), done: make(chan struct{}),
		buf: make([]byte, max(c.payload, StampSize))}, nil
}

func (c *nopClient) Close() error { return nil }

type nopCaller struct{ c *nopClient }

func (k nopCaller) Call(context.Context, []byte) error { k.c.clk.advance(k.c.cost); return nil }
func (nopCaller) Close() error                         { return nil }

var errNopClosed = errors.New("nop: stream closed")

type nopStream struct {
	c      *nopClient
	stamps chan int64 // one per message sent and not yet received
	buf    []byte
	done   chan struct{}
	once   sync.Once
}

func (s *nopStream) Send(p []byte) error {
	s.c.clk.advance(s.c.cost)
	select {
	case s.stamps <- Stamp(p):
		return nil
	case <-s.done:
		return errNopClosed
	}
}

func (s *nopStream) Flush() error { return nil }

func (s *nopStream) Recv() ([]byte, error) {
	select {
	case t := <-s.stamps:
		PutStamp(s.buf, t)
		return s.buf, nil
	case <-s.done:
		return nil, errNopClosed
	}
}

func (s *nopStream) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// nopRun runs cfg (on a fresh virtual clock) against a nopClient whose
// operations cost one virtual microsecond: a window of d holds about
// d/1µs operations.
func nopRun(t testing.TB, cfg Config, d time.Duration) *Result {
	clk := &virtualClock{}
	cfg.Duration, cfg.Grace, cfg.clock = d, virtualGrace, clk
	res, err := Run(context.Background(), &nopClient{clk: clk, cost: int64(time.Microsecond), payload: cfg.Payload}, cfg)
	require.NoError(t, err)
	return res
}

// The load loop allocates nothing per operation in steady state, and
// nothing that grows with the payload inside the measured window: the
// request buffers are made before it (sendBuffers), so allocs/op and B/op
// are the system's own. Before, every worker made its request buffer inside
// the window: 16 callers of 1 MiB charged 16 MiB to the system under test.
func TestLoadLoopAllocatesNothingPerOp(t *testing.T) {
	testenv.SkipIfRace(t)
	const payload = 1 << 20
	tests := []struct {
		name string
		cfg  Config
	}{
		{"unary closed loop", Config{Options: Options{Concurrency: 16}}},
		{"unary open loop", Config{Options: Options{Concurrency: 16}, Rate: 1_000_000}},
		{"pipelined", Config{Options: Options{Scenario: Pipelined, Conns: 4, Concurrency: 16}}},
		{"bidi open loop", Config{Options: Options{Scenario: Bidi, Conns: 4, Concurrency: 16}, Rate: 1_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Payload = payload
			cfg.EnsureDefaults()

			// The measured window's own count (what psbench reports as the
			// system's allocs/op and B/op): a constant handful for the
			// window, less than one payload in all.
			res := nopRun(t, cfg, 100*time.Millisecond)
			require.Greater(t, res.Ops, int64(50_000))
			assert.Less(t, res.AllocsPerOp(), 0.01, "mallocs %d over %d ops", res.Mallocs, res.Ops)
			assert.Less(t, res.AllocBytes, uint64(payload/4),
				"the window allocated %d bytes with %d workers of %d-byte requests", res.AllocBytes, cfg.workers(), payload)

			// Whole runs, setup included (testing.AllocsPerRun): ten times
			// the operations cost no more allocations than a handful.
			short := testing.AllocsPerRun(3, func() { nopRun(t, cfg, 10*time.Millisecond) })
			long := testing.AllocsPerRun(3, func() { nopRun(t, cfg, 100*time.Millisecond) })
			perOp := (long - short) / 90_000 // about 90,000 operations more
			assert.Less(t, perOp, 0.001, "whole run: %.0f allocations for 10 ms, %.0f for 100 ms", short, long)
		})
	}
}
