package rpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// raw is a hand-driven peer speaking frames directly.
type raw struct {
	t  *testing.T
	nc net.Conn
	fr *frame.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	return &raw{t: t, nc: nc, fr: frame.NewReader(nc, frame.ReaderOptions{})}
}

func (r *raw) send(kind uint8, flags uint16, id, method uint32, payload []byte) {
	b, err := frame.AppendFrame(nil, frame.Header{Kind: kind, Flags: flags, Stream: id, Type: method}, payload)
	require.NoError(r.t, err)
	_, err = r.nc.Write(b)
	require.NoError(r.t, err)
}

func (r *raw) next() (frame.Header, []byte) {
	require.NoError(r.t, r.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	f, err := r.fr.Next()
	require.NoError(r.t, err)
	return f.Header, append([]byte(nil), f.Payload...)
}

func (r *raw) expectError(id uint32, code rpc.Code) {
	h, p := r.next()
	require.Equal(r.t, wire.KindError, h.Kind, "kind")
	require.Equal(r.t, id, h.Stream)
	got, _, err := rpc.ParseErrorBody(p)
	require.NoError(r.t, err)
	require.Equal(r.t, code, got)
}

func TestDuplicateIDRejected(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	r := dialRaw(t, ts.addr)
	r.send(wire.KindRequest, 0, 5, mBlock, nil)
	wait(t, ts.entered)
	r.send(wire.KindRequest, 0, 5, mEcho, []byte("dup"))
	r.expectError(5, rpc.CodeProtocol)
	assert.Equal(t, uint64(1), ts.srv.Stats().Duplicates)
	// The original call is untouched: it still completes.
	close(ts.release)
	h, p := r.next()
	assert.Equal(t, wire.KindResponse, h.Kind)
	assert.Equal(t, uint32(5), h.Stream)
	assert.Equal(t, "released", string(p))
	// Once done, the id may be reused.
	r.send(wire.KindRequest, 0, 5, mEcho, []byte("again"))
	h, p = r.next()
	assert.Equal(t, wire.KindResponse, h.Kind)
	assert.Equal(t, "again", string(p))
}

func TestUnknownIDsIgnored(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	r := dialRaw(t, ts.addr)
	// Cancel before any request, stream frames for ids nobody opened,
	// kinds nobody defined.
	r.send(wire.KindCancel, 0, 77, 0, nil)
	r.send(wire.KindCredit, 0, 77, 0, wire.AppendCredit(nil, 5))
	r.send(wire.KindStreamMessage, 0, 78, 0, []byte("m"))
	r.send(wire.KindEnd, 0, 79, 0, nil)
	r.send(40, 0, 80, 0, nil)
	r.send(wire.KindRequest, 0, 81, mEcho, []byte("alive"))
	h, p := r.next()
	require.Equal(t, wire.KindResponse, h.Kind)
	assert.Equal(t, "alive", string(p))
	assert.Equal(t, uint64(5), ts.srv.Stats().Ignored)
}

func TestMalformedOpening(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	r := dialRaw(t, ts.addr)
	for i, tc := range []struct {
		flags   uint16
		payload []byte
	}{
		{wire.FlagDeadline, []byte{1, 2}},              // short timeout
		{wire.FlagDeadline, make([]byte, 8)},           // zero timeout
		{wire.FlagMetadata, []byte{9, 0, 1}},           // metadata past the end
		{wire.FlagMetadata, []byte{3, 0, 5, 'a', 'b'}}, // truncated entry
		{0x8000, nil}, // reserved flag bit
	} {
		id := uint32(100 + i)
		r.send(wire.KindRequest, tc.flags, id, mEcho, tc.payload)
		r.expectError(id, rpc.CodeProtocol)
	}
	r.send(wire.KindStreamOpen, 0, 200, sServer, []byte{0, 0, 0, 0}) // zero credit
	r.expectError(200, rpc.CodeProtocol)
}

func TestStreamCreditOverflowIsProtocolError(t *testing.T) {
	srv, addr, _ := streamServer(t, rpc.ServerOptions{})
	_ = srv
	r := dialRaw(t, addr)
	r.send(wire.KindStreamOpen, 0, 9, sBidi, wire.AppendCredit(nil, 4))
	h, _ := r.next() // the server's initial credit grant
	require.Equal(t, wire.KindCredit, h.Kind)
	r.send(wire.KindCredit, 0, 9, sBidi, wire.AppendCredit(nil, wire.MaxCredit)) // 4 + max overflows
	r.expectError(9, rpc.CodeProtocol)
}

func TestStreamMessagesBeyondCreditIsProtocolError(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{StreamWindow: 2})
	r := dialRaw(t, addr)
	// sFail reads one message and then waits... it returns at once, so use
	// a stream whose handler never reads: sHold, which only sends.
	r.send(wire.KindStreamOpen, 0, 3, sHold, wire.AppendCredit(nil, 1))
	seenErr := false
	for range 3 { // 2 granted, the 3rd is over the window
		r.send(wire.KindStreamMessage, 0, 3, sHold, []byte("m"))
	}
	for range 10 {
		h, p := r.next()
		if h.Kind == wire.KindError {
			code, _, err := rpc.ParseErrorBody(p)
			require.NoError(t, err)
			assert.Equal(t, rpc.CodeProtocol, code)
			seenErr = true
			break
		}
		if h.Kind == wire.KindStreamMessage {
			r.send(wire.KindCredit, 0, 3, sHold, wire.AppendCredit(nil, 1))
		}
	}
	assert.True(t, seenErr, "no protocol error for messages beyond the credit")
}

func TestDrain(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	res := make(chan error, 1)
	go func() {
		got, err := c.Call(context.Background(), mBlock, nil, nil)
		if err == nil && string(got) != "released" {
			err = assert.AnError
		}
		res <- err
	}()
	wait(t, ts.entered)
	drained := make(chan error, 1)
	go func() { drained <- ts.srv.Drain(testCtx(t)) }()
	require.Eventually(t, c.Draining, 10*time.Second, time.Millisecond, "GoAway reaches the client")
	_, err := c.Call(testCtx(t), mEcho, []byte("new"), nil)
	require.ErrorIs(t, err, rpc.ErrUnavailable, "new calls are refused while draining")
	select {
	case <-drained:
		t.Fatal("Drain returned with a call in flight")
	default:
	}
	close(ts.release)
	require.NoError(t, <-res, "the call in flight finished")
	select {
	case err := <-drained:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not finish")
	}
	wait(t, c.Closed())
}

func TestDrainDeadline(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	res := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), mBlock, nil, nil)
		res <- err
	}()
	wait(t, ts.entered)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, ts.srv.Drain(ctx), context.DeadlineExceeded)
	require.ErrorIs(t, <-res, rpc.ErrClosed, "past the deadline the connection is closed")
}

func TestReaderNotBlockedByFullPool(t *testing.T) {
	// One worker, busy; one call queued; the rest wait for room off the
	// reader, which keeps reading: an inline call is still answered (the
	// reader used to block, reading neither Cancel frames nor the close).
	ts := startServer(t, rpc.ServerOptions{Workers: 1, MaxInFlight: 8})
	r := dialRaw(t, ts.addr)
	for id := uint32(1); id <= 4; id++ {
		r.send(wire.KindRequest, 0, id, mBlock, nil)
	}
	wait(t, ts.entered)
	r.send(wire.KindRequest, 0, 9, mEchoInline, []byte("still reading"))
	h, p := r.next()
	require.Equal(t, wire.KindResponse, h.Kind)
	require.Equal(t, uint32(9), h.Stream)
	require.Equal(t, "still reading", string(p))
	// Closing the connection cancels every call, running or waiting,
	// and Close then returns: nothing is left waiting for a worker.
	require.NoError(t, r.nc.Close())
	for range 4 {
		select {
		case err := <-ts.ctxErr:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Fatal("a handler's context was not canceled by the close")
		}
	}
}

func TestFireAndForgetCanceledOnClose(t *testing.T) {
	// A fire-and-forget call has no id to cancel, but the connection's end
	// still cancels its handler's context (it used to hold the worker
	// forever, and Server.Close with it).
	ts := startServer(t, rpc.ServerOptions{Workers: 2, ConnWorkers: 2})
	r := dialRaw(t, ts.addr)
	r.send(wire.KindFireAndForget, 0, 0, mBlock, nil)
	r.send(wire.KindFireAndForget, 0, 0, mBlock, nil)
	wait(t, ts.entered)
	wait(t, ts.entered)
	require.NoError(t, r.nc.Close())
	for range 2 {
		select {
		case err := <-ts.ctxErr:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Fatal("fire-and-forget handler not canceled by the connection's close")
		}
	}
}

func TestServerDeadlineTimer(t *testing.T) {
	// A peer that sends a 30 ms timeout and never cancels: the handler's
	// context ends by the deadline alone, and the handler's error is sent.
	ts := startServer(t, rpc.ServerOptions{})
	r := dialRaw(t, ts.addr)
	b, err := wire.AppendOpening(nil, wire.KindRequest, 4, mBlock, wire.Prefix{Timeout: 30 * time.Millisecond}, nil)
	require.NoError(t, err)
	_, err = r.nc.Write(b)
	require.NoError(t, err)
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("deadline did not end the handler's context")
	}
	r.expectError(4, rpc.CodeDeadlineExceeded)
}

// TestStaleStreamCancelAttack: a flow-control violation that races the
// end of its stream must not cancel the call's successor. Each round
// opens a stream whose handler returns at once, overruns its credit, and
// makes a unary call on the recycled call state: every call is answered
// (the stale cancel used to leave 7-108 of 20,000 unanswered).
func TestStaleStreamCancelAttack(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{StreamWindow: 1})
	require.NoError(t, err)
	const sQuick, mUnary uint32 = 50, 51
	srv.HandleStream(sQuick, func(context.Context, *rpc.ServerStream) error { return nil })
	srv.Handle(mUnary, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	r := dialRaw(t, serve(t, srv))
	rounds := 5000
	if testing.Short() {
		rounds = 500
	}
	deadline := time.Now().Add(20 * time.Second) // bounded on a loaded machine
	for i := 0; i < rounds && time.Now().Before(deadline); i++ {
		sid, cid := uint32(2*i+1), uint32(2*i+2)
		var b []byte
		add := func(kind uint8, id, method uint32, p []byte) {
			var err error
			b, err = frame.AppendFrame(b, frame.Header{Kind: kind, Stream: id, Type: method}, p)
			require.NoError(t, err)
		}
		add(wire.KindStreamOpen, sid, sQuick, wire.AppendCredit(nil, 1))
		for range 3 { // over the window of 1
			add(wire.KindStreamMessage, sid, sQuick, []byte("m"))
		}
		add(wire.KindRequest, cid, mUnary, []byte("ping"))
		_, err := r.nc.Write(b)
		require.NoError(t, err)
		for {
			h, p := r.next() // fails the test after 10 s without a frame
			if h.Stream != cid {
				continue
			}
			require.Equal(t, wire.KindResponse, h.Kind, "round %d: the call is answered, not canceled", i)
			require.Equal(t, "ping", string(p))
			break
		}
	}
}

// TestDrainSequenceOnTheWire drives the drain with a hand-written client:
// GoAway (code 7) then Ping (stream 0); a request sent before the Pong is
// served; one sent after it is refused with code 7 (not processed); the
// client closes, and Drain returns nil.
func TestDrainSequenceOnTheWire(t *testing.T) {
	// A long DrainLinger: with the default (1 s), a test goroutine paused
	// that long before its Pong would see the server stop waiting for it
	// and refuse the request "sent before the Pong". The drain still ends
	// by the client's close.
	ts := startServer(t, rpc.ServerOptions{DrainLinger: time.Minute})
	r := dialRaw(t, ts.addr)
	r.send(wire.KindRequest, 0, 1, mEchoInline, []byte("before"))
	h, p := r.next()
	require.Equal(t, wire.KindResponse, h.Kind)
	require.Equal(t, "before", string(p))
	drained := make(chan error, 1)
	go func() { drained <- ts.srv.Drain(testCtx(t)) }()
	h, p = r.next()
	require.Equal(t, wire.KindGoAway, h.Kind)
	code, _, err := rpc.ParseErrorBody(p)
	require.NoError(t, err)
	require.Equal(t, rpc.CodeUnavailable, code)
	h, _ = r.next()
	require.Equal(t, wire.KindPing, h.Kind)
	require.Equal(t, uint32(0), h.Stream)
	// Sent before the client acknowledged: served.
	r.send(wire.KindRequest, 0, 2, mEcho, []byte("raced"))
	h, p = r.next()
	require.Equal(t, wire.KindResponse, h.Kind)
	require.Equal(t, "raced", string(p))
	r.send(wire.KindPong, 0, 0, 0, nil)
	r.send(wire.KindRequest, 0, 3, mEcho, []byte("after"))
	r.expectError(3, rpc.CodeUnavailable)
	require.NoError(t, r.nc.Close())
	select {
	case err := <-drained:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not finish after the client closed")
	}
	assert.Equal(t, uint64(1), ts.srv.Stats().Unavailable)
}

// TestDrainUncooperativeClients: a client that never answers the drain's
// Ping, and one that answers but never closes, do not hold Drain until
// its deadline: both are closed after DrainLinger of quiet, and Drain
// returns nil.
func TestDrainUncooperativeClients(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{DrainLinger: 50 * time.Millisecond})
	silent, ponger := dialRaw(t, ts.addr), dialRaw(t, ts.addr)
	for _, r := range []*raw{silent, ponger} { // both connections are up
		r.send(wire.KindRequest, 0, 1, mEchoInline, []byte("up"))
		h, _ := r.next()
		require.Equal(t, wire.KindResponse, h.Kind)
	}
	drained := make(chan error, 1)
	go func() { drained <- ts.srv.Drain(testCtx(t)) }()
	// The ponger answers first, its Pong and a request in one write:
	// the server refuses the request (not processed). The server closes
	// a quiet connection DrainLinger (50 ms) after it stopped waiting for
	// the Pong, so a test goroutine paused for ~100 ms on a loaded
	// machine may find it closed before the request was read: then the
	// request is not answered at all, which is no less a refusal. Never
	// may it be served.
	for _, r := range []*raw{ponger, silent} {
		h, _ := r.next()
		require.Equal(t, wire.KindGoAway, h.Kind)
		h, _ = r.next()
		require.Equal(t, wire.KindPing, h.Kind)
		if r != ponger {
			continue
		}
		b, err := frame.AppendFrame(nil, frame.Header{Kind: wire.KindPong}, nil)
		require.NoError(t, err)
		b, err = frame.AppendFrame(b, frame.Header{Kind: wire.KindRequest, Stream: 2, Type: mEcho}, []byte("after the pong"))
		require.NoError(t, err)
		_, _ = ponger.nc.Write(b) // fails only if the server closed it already
		require.NoError(t, ponger.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		if f, err := ponger.fr.Next(); err == nil {
			require.Equal(t, wire.KindError, f.Header.Kind, "the request after the Pong is refused, not served")
			require.Equal(t, uint32(2), f.Header.Stream)
			code, _, err := rpc.ParseErrorBody(f.Payload)
			require.NoError(t, err)
			require.Equal(t, rpc.CodeUnavailable, code)
		} else {
			t.Logf("the server closed the ponger before reading its request: %v", err)
		}
	}
	select {
	case err := <-drained:
		require.NoError(t, err, "Drain ends by the linger, not by its deadline")
	case <-time.After(15 * time.Second):
		t.Fatal("an uncooperative client held Drain")
	}
	for _, r := range []*raw{silent, ponger} {
		require.NoError(t, r.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := r.fr.Next()
		require.Error(t, err, "the server closed the connection")
	}
}

// TestStreamIDReusedAfterEnd: a client may reuse a stream's id once the
// server ended it. The server's reader caches the last stream it looked
// up (streamFor); the id leaving the table must drop that cache, or the
// new stream's messages would go to the old stream's dropped queue and
// its handler would never see them.
func TestStreamIDReusedAfterEnd(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	const sEcho uint32 = 60
	srv.HandleStream(sEcho, func(_ context.Context, st *rpc.ServerStream) error {
		for {
			m, err := st.Recv(nil)
			if err != nil {
				return nil
			}
			if err := st.Send(m); err != nil {
				return err
			}
		}
	})
	r := dialRaw(t, serve(t, srv))
	const id = 7
	for round := range 20 {
		msg := []byte{'m', byte('a' + round)}
		r.send(wire.KindStreamOpen, 0, id, sEcho, wire.AppendCredit(nil, 4))
		r.send(wire.KindStreamMessage, 0, id, sEcho, msg)
		r.send(wire.KindEnd, 0, id, sEcho, nil)
		var got []byte
		for {
			h, p := r.next() // fails the test after 10 s without a frame
			require.Equal(t, uint32(id), h.Stream)
			if h.Kind == wire.KindStreamMessage {
				got = p
			}
			if h.Kind == wire.KindEnd {
				break
			}
			require.NotEqual(t, wire.KindError, h.Kind, "round %d", round)
		}
		require.Equal(t, msg, got, "round %d: the stream on the reused id got its message", round)
	}
}
