package rpc_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// TestInlineCallPastDeadlineNotRun: a read batch of many slow inline
// calls, each with a timeout counted from the batch's arrival. A call
// whose deadline passed while the batch's earlier handlers ran gets
// CodeDeadlineExceeded without its handler running (as gRPC does for a
// call whose deadline passed before its handler starts); before the fix
// every handler ran, the late ones after their deadline.
func TestInlineCallPastDeadlineNotRun(t *testing.T) {
	const (
		calls   = 30
		sleep   = 10 * time.Millisecond
		timeout = 50 * time.Millisecond
		mSlow   = 100
	)
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	var ran, late atomic.Int32
	// The handlers run one after another on the server's reader. The
	// server reads the clock after each handler returns and before it
	// starts the next, so a handler that starts must have a deadline
	// no earlier than the time its predecessor returned: a deterministic
	// check, where "started within 1 ms of its deadline" (as this test
	// had it) failed when a loaded machine paused the reader between the
	// server's check and the handler's first line.
	var prevEnd time.Time // the previous handler's return; only the reader touches it
	srv.Handle(mSlow, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		ran.Add(1)
		if d, ok := ctx.Deadline(); !ok || (!prevEnd.IsZero() && prevEnd.After(d)) {
			late.Add(1) // started although its deadline passed before the previous handler returned (or had none)
		}
		time.Sleep(sleep)
		prevEnd = time.Now()
		return append(dst, req...), nil
	}, rpc.Inline)
	addr := serve(t, srv)
	r := dialRaw(t, addr)
	var b []byte
	for i := range calls {
		b, err = wire.AppendOpening(b, wire.KindRequest, uint32(i+1), mSlow, wire.Prefix{Timeout: timeout}, []byte{byte(i)})
		require.NoError(t, err)
	}
	_, err = r.nc.Write(b) // one write: one read batch on the server
	require.NoError(t, err)
	ok, expired := 0, 0
	for range calls {
		h, p := r.next()
		switch h.Kind {
		case wire.KindResponse:
			ok++
		case wire.KindError:
			code, _, err := rpc.ParseErrorBody(p)
			require.NoError(t, err)
			require.Equal(t, rpc.CodeDeadlineExceeded, code)
			expired++
		default:
			t.Fatalf("unexpected frame kind %d", h.Kind)
		}
	}
	require.Zero(t, late.Load(), "handlers started after their deadline")
	require.Equal(t, int32(ok), ran.Load(), "a handler ran for a call answered DeadlineExceeded")
	require.Positive(t, expired, "no call expired: 30 calls of 10 ms cannot all start within 50 ms")
}

// TestInlineBatchWithinDeadlineAllRun: a long read batch of fast inline
// calls with deadlines well ahead runs every handler (the clock readings
// that check the deadlines never expire a call early).
func TestInlineBatchWithinDeadlineAllRun(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	r := dialRaw(t, ts.addr)
	const calls = 500
	var b []byte
	var err error
	for i := range calls {
		p := wire.Prefix{}
		if i%3 != 0 { // deadlines and none mixed
			p.Timeout = 10 * time.Second
		}
		b, err = wire.AppendOpening(b, wire.KindRequest, uint32(i+1), mEchoInline, p, []byte{byte(i)})
		require.NoError(t, err)
	}
	_, err = r.nc.Write(b)
	require.NoError(t, err)
	for i := range calls {
		h, p := r.next()
		require.Equal(t, wire.KindResponse, h.Kind, "call %d", h.Stream)
		require.Equal(t, uint32(i+1), h.Stream)
		require.Equal(t, []byte{byte(i)}, p)
	}
}

// TestInlineDeadlineAfterFastThenSlow: one read batch of 40 fast inline
// calls, one inline call that takes 60 ms, then 15 calls with a 20 ms
// timeout. Every one of the 15 passed its deadline while the slow one
// ran, so none may start: the clock must be read again after the slow
// handler even though the handlers before it were fast (an earlier
// version read it only every 16 fast handlers and ran most of them).
func TestInlineDeadlineAfterFastThenSlow(t *testing.T) {
	const (
		fast, late = 40, 15
		mFast      = 101
		mSlow      = 102
		mLate      = 103
	)
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	var ranLate atomic.Int32
	echo := func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }
	srv.Handle(mFast, echo, rpc.Inline)
	srv.Handle(mSlow, func(_ context.Context, req, dst []byte) ([]byte, error) {
		time.Sleep(60 * time.Millisecond)
		return append(dst, req...), nil
	}, rpc.Inline)
	srv.Handle(mLate, func(_ context.Context, req, dst []byte) ([]byte, error) {
		ranLate.Add(1)
		return append(dst, req...), nil
	}, rpc.Inline)
	addr := serve(t, srv)
	r := dialRaw(t, addr)
	var b []byte
	id := uint32(0)
	add := func(method uint32, timeout time.Duration) {
		id++
		b, err = wire.AppendOpening(b, wire.KindRequest, id, method, wire.Prefix{Timeout: timeout}, []byte{byte(id)})
		require.NoError(t, err)
	}
	for range fast {
		add(mFast, 10*time.Second)
	}
	add(mSlow, 10*time.Second)
	for range late {
		add(mLate, 20*time.Millisecond)
	}
	_, err = r.nc.Write(b) // one write: one read batch on the server
	require.NoError(t, err)
	expired := 0
	for range fast + 1 + late {
		h, p := r.next()
		switch h.Kind {
		case wire.KindResponse:
		case wire.KindError:
			code, _, err := rpc.ParseErrorBody(p)
			require.NoError(t, err)
			require.Equal(t, rpc.CodeDeadlineExceeded, code)
			require.Greater(t, h.Stream, uint32(fast+1), "only the 20 ms calls may expire")
			expired++
		default:
			t.Fatalf("unexpected frame kind %d", h.Kind)
		}
	}
	assert.Zero(t, ranLate.Load(), "handlers that started after their deadline")
	assert.Equal(t, late, expired)
}
