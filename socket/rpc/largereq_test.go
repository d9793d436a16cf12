package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Large requests go out by reference (largereq.go): these tests hold the
// client to the lifetime Call documents. A raw peer reads the frames as
// they arrive; every request body is one repeated byte, and the test
// overwrites the request right after Call returns, so a body that is not
// uniform on the wire was torn: the connection still read the caller's
// slice after Call returned.

// rawFrame is one frame the peer read (or the part of it read before the
// connection ended).
type rawFrame struct {
	h       frame.Header
	body    int  // request body bytes read
	whole   bool // the whole frame was read
	uniform bool // the body read is one repeated byte (requests)
	fill    byte // that byte
}

// rawPeer is a server that reads frames, paced, and answers only when
// told to.
type rawPeer struct {
	t      *testing.T
	ln     net.Listener
	conn   chan net.Conn
	start  chan struct{} // closed: start reading
	chunk  int           // bytes per read
	pause  time.Duration // after each read
	read   atomic.Int64  // bytes read so far
	frames chan rawFrame
	// onHeader, if set, runs when a frame's header has been read (on the
	// reading goroutine), before its payload.
	onHeader func(c net.Conn, h frame.Header)
	// holdAt, if positive, stops reading once that many bytes were read,
	// until resume (with resumeOnce) is called.
	holdAt     int64
	resumeCh   chan struct{}
	resumeOnce sync.Once
	// rcvBuf, if positive, is the accepted connection's SO_RCVBUF.
	rcvBuf int
	done   chan struct{}
}

// resume lets a peer held at holdAt read on.
func (p *rawPeer) resume() { p.resumeOnce.Do(func() { close(p.resumeCh) }) }

// newRawPeer starts a rawPeer; set, if given, sets its fields before it
// serves.
func newRawPeer(t *testing.T, chunk int, pause time.Duration, set ...func(*rawPeer)) *rawPeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &rawPeer{t: t, ln: ln, conn: make(chan net.Conn, 1), start: make(chan struct{}), chunk: chunk, pause: pause,
		frames: make(chan rawFrame, 64), done: make(chan struct{}), resumeCh: make(chan struct{})}
	t.Cleanup(func() {
		_ = ln.Close()
		p.resume()
		select {
		case <-p.start:
		default:
			close(p.start)
		}
		select {
		case c := <-p.conn:
			_ = c.Close()
		default:
		}
		<-p.done
	})
	for _, f := range set {
		f(p)
	}
	go p.serve()
	return p
}

func (p *rawPeer) serve() {
	defer close(p.done)
	defer close(p.frames)
	c, err := p.ln.Accept()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok && p.rcvBuf > 0 {
		_ = tc.SetReadBuffer(p.rcvBuf)
	}
	p.conn <- c
	defer func() { _ = c.Close() }()
	<-p.start
	r := &pacedReader{p: p, c: c}
	for {
		var hb [frame.HeaderSize]byte
		if _, err := io.ReadFull(r, hb[:]); err != nil {
			return
		}
		h, err := frame.ParseHeader(hb[:])
		if err != nil || h.Flags&frame.FlagCRC != 0 {
			p.t.Errorf("peer: bad header %+v: %v", h, err)
			return
		}
		if p.onHeader != nil {
			p.onHeader(c, h)
		}
		payload := make([]byte, h.Length)
		n, err := io.ReadFull(r, payload)
		f := rawFrame{h: h, whole: err == nil}
		if h.Kind == wire.KindRequest {
			if _, body, perr := wire.ParsePrefix(h.Flags, payload[:n]); perr == nil {
				f.body = len(body)
				f.uniform = len(body) > 0 && len(bytes.Trim(body, string(body[:1]))) == 0
				if len(body) > 0 {
					f.fill = body[0]
				}
			}
		}
		p.frames <- f
		if err != nil {
			return
		}
	}
}

// pacedReader reads at most chunk bytes at a time and pauses after each.
type pacedReader struct {
	p *rawPeer
	c net.Conn
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if len(b) > r.p.chunk {
		b = b[:r.p.chunk]
	}
	if h := r.p.holdAt; h > 0 {
		if got := r.p.read.Load(); got >= h {
			<-r.p.resumeCh
		} else if int64(len(b)) > h-got {
			b = b[:h-got]
		}
	}
	n, err := r.c.Read(b)
	r.p.read.Add(int64(n))
	if r.p.pause > 0 {
		time.Sleep(r.p.pause)
	}
	return n, err
}

// until polls cond until it holds, or fails the test after 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// callResult is a Call's outcome, run in a goroutine.
type callResult struct {
	err error
	at  time.Time
}

func goCall(k *rpc.Caller, ctx context.Context, req []byte) chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		_, err := k.Call(ctx, mEcho, req, nil)
		ch <- callResult{err: err, at: time.Now()}
	}()
	return ch
}

func waitCall(t *testing.T, ch chan callResult) callResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("Call did not return")
		return callResult{}
	}
}

// A request still queued when its ctx ends (canceled or past its
// deadline) is withdrawn: Call returns at once, although the writer is
// stuck on a peer that does not read, the server never sees it (no
// request frame and no cancel frame), and the caller's slice, overwritten
// right after, tears nothing.
func TestLargeRequestWithdrawnWhenQueued(t *testing.T) {
	for _, how := range []string{"cancel", "deadline"} {
		t.Run(how, func(t *testing.T) {
			// The peer reads the first 64 KiB, then stops until resumed.
			// Both sides' socket buffers are 64 KiB, far below 12 MiB.
			p := newRawPeer(t, 64<<10, 0, func(p *rawPeer) {
				p.holdAt = 64 << 10
				p.rcvBuf = 64 << 10
			})
			close(p.start)
			opts := rpc.ClientOptions{}
			opts.Socket.MaxFrameSize = 16 << 20
			c := dialSmallSendBuffer(t, p.ln.Addr().String(), opts)
			const size = 4 << 20
			// A 12 MiB request is more than the kernel's buffers hold (the
			// peer stopped reading): the writer blocks in writev with it.
			// The queue's weight is free again (QueueBytes, 4 MiB): the
			// next request is queued, not held at the weight bound.
			kb, err := c.NewCaller()
			require.NoError(t, err)
			defer kb.Close()
			blocker := goCall(kb, context.Background(), bytes.Repeat([]byte{1}, 12<<20))
			// Seen on the peer's side: a call is outstanding before its
			// request is queued, so Outstanding and QueueDepth alone could
			// hold before the writer has it.
			until(t, "the writer took the first request", func() bool {
				return p.read.Load() >= p.holdAt && c.Conn().Stats().QueueDepth == 0
			})
			d0 := int64(0)
			k, err := c.NewCaller()
			require.NoError(t, err)
			defer k.Close()
			req := bytes.Repeat([]byte{9}, size)
			// The ctx ends once the request is seen queued: by cancel, or
			// by its deadline passing then (expiringCtx). A 300 ms timeout
			// could pass before the goroutine queued the request, or
			// before the poll saw it queued, on a loaded machine.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var callCtx context.Context = ctx
			dl := newExpiringCtx()
			if how == "deadline" {
				callCtx = dl
			}
			res := goCall(k, callCtx, req)
			until(t, "the request is queued", func() bool { return c.Conn().Stats().QueueDepth == d0+1 })
			if how == "cancel" {
				cancel()
			} else {
				dl.expire()
			}
			r := waitCall(t, res) // a request the writer had taken would wait for the peer, which does not read
			if how == "cancel" {
				assert.ErrorIs(t, r.err, context.Canceled)
			} else {
				assert.ErrorIs(t, r.err, context.DeadlineExceeded)
			}
			for i := range req {
				req[i] = 0xee
			}
			assert.Equal(t, d0, c.Conn().Stats().QueueDepth, "withdrawn from the queue")

			p.resume()
			f := <-p.frames
			assert.True(t, f.whole && f.uniform && f.body == 12<<20 && f.fill == 1, "the first request: %+v", f)
			require.NoError(t, c.Close())
			var ce *rpc.ClosedError
			assert.ErrorAs(t, waitCall(t, blocker).err, &ce)
			for f := range p.frames {
				t.Errorf("the withdrawn request reached the peer: %+v", f)
				break
			}
		})
	}
}

// A request being written when its ctx ends, when the connection closes,
// or when the peer answers it before reading it all: Call returns only
// once the writer is done with the request, so the bytes on the wire are
// the request's, however the caller's slice changes after Call returns.
func TestLargeRequestNotTornAfterCallReturns(t *testing.T) {
	const size = 12 << 20 // more than the kernel's socket buffers hold
	for _, how := range []string{"cancel", "deadline", "close", "early-answer"} {
		t.Run(how, func(t *testing.T) {
			p := newRawPeer(t, 64<<10, time.Millisecond)
			var answered atomic.Bool
			if how == "early-answer" {
				p.onHeader = func(c net.Conn, h frame.Header) {
					if h.Kind == wire.KindRequest && answered.CompareAndSwap(false, true) {
						resp, _ := frame.AppendFrame(nil, frame.Header{Kind: wire.KindResponse, Stream: h.Stream}, []byte("early"))
						_, _ = c.Write(resp)
					}
				}
			}
			opts := rpc.ClientOptions{}
			opts.Socket.MaxFrameSize = 16 << 20
			// The peer reads slowly but reads: the call waits for the
			// write however long it takes (the grace that closes the
			// connection of a stalled peer is TestLargeRequestCanceledMidWrite's).
			opts.CancelWriteGrace = -1
			c := dial(t, p.ln.Addr().String(), opts)
			k, err := c.NewCaller()
			require.NoError(t, err)
			defer k.Close()
			req := bytes.Repeat([]byte{7}, size)
			// "deadline": the deadline passes once the peer is reading
			// the request (expiringCtx). A 100 ms timeout could pass
			// before the request was queued on a loaded machine (then it
			// was withdrawn, and the peer never read it), or while the
			// paced peer, sleeping 1 ms or more per 64 KiB, read the
			// first MiB.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var callCtx context.Context = ctx
			dl := newExpiringCtx()
			if how == "deadline" {
				callCtx = dl
			}
			close(p.start)
			res := goCall(k, callCtx, req)
			until(t, "the peer reads the request", func() bool { return p.read.Load() > 1<<20 })
			switch how {
			case "cancel":
				cancel()
			case "deadline":
				dl.expire()
			case "close":
				go func() { _ = c.Close() }()
			}
			r := waitCall(t, res)
			for i := range req {
				req[i] = 0xee
			}
			switch how {
			case "cancel":
				assert.ErrorIs(t, r.err, context.Canceled)
			case "deadline":
				assert.ErrorIs(t, r.err, context.DeadlineExceeded)
			case "close":
				var ce *rpc.ClosedError
				assert.ErrorAs(t, r.err, &ce)
			case "early-answer":
				assert.NoError(t, r.err)
			}
			f := <-p.frames
			assert.True(t, f.uniform && f.fill == 7, "the request on the wire is the request: %d body bytes, uniform %v, fill %#x", f.body, f.uniform, f.fill)
			if how == "close" {
				return // a cut frame: what arrived is the request's
			}
			assert.True(t, f.whole && f.body == size, "whole request: %+v", f)
			if how != "early-answer" {
				f = <-p.frames
				assert.Equal(t, wire.KindCancel, f.h.Kind, "a cancel frame follows the request")
			}
		})
	}
}

// Large requests on a connection that closes while they wait in the
// queue (or for room in it) end with the close: Call returns once the
// connection handed each request back (a queued one through its failure
// path, which ends the Ref's hold), with a *ClosedError for a request
// that was queued and ErrUnavailable (not sent) for one still waiting for
// QueueBytes.
func TestLargeRequestQueuedAtClose(t *testing.T) {
	p := newRawPeer(t, 64<<10, 0)
	c := dial(t, p.ln.Addr().String(), rpc.ClientOptions{})
	const size = 4 << 20
	var calls []chan callResult
	for i := range 3 {
		k, err := c.NewCaller()
		require.NoError(t, err)
		defer k.Close()
		calls = append(calls, goCall(k, context.Background(), bytes.Repeat([]byte{byte(1 + i)}, size)))
	}
	until(t, "three calls outstanding, the writer stuck", func() bool {
		return c.Outstanding() == 3
	})
	require.NoError(t, c.Close())
	for _, ch := range calls {
		err := waitCall(t, ch).err
		var ce *rpc.ClosedError
		assert.True(t, errors.As(err, &ce) || errors.Is(err, rpc.ErrUnavailable), "%v", err)
	}
}

// Large requests by reference cost no copy and no allocation: a Caller
// echoing 1 MiB and 4 MiB keeps its one Ref (see TestLargeCallAllocs for
// the bounds per call); here the request of a sequence of calls is reused
// and changed between calls, and each echo matches its own request.
func TestLargeRequestReusedBetweenCalls(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	req := make([]byte, 1<<20)
	var dst []byte
	for i := range 20 {
		for j := range req {
			req[j] = byte(i)
		}
		dst, err = k.Call(testCtx(t), mEcho, req, dst[:0])
		require.NoError(t, err)
		require.True(t, bytes.Equal(req, dst), "call %d", i)
	}
	// A request over the frame limit is refused before anything is sent.
	_, err = k.Call(testCtx(t), mEcho, make([]byte, rpc.DefaultMaxFrameSize), nil)
	assert.ErrorIs(t, err, rpc.ErrResourceExhausted)
	_, err = k.Call(testCtx(t), mEcho, req, dst[:0])
	assert.NoError(t, err, "the Caller goes on")
}

// Under psdebug, a request changed while its Call runs (sent by
// reference) panics in Call, naming the mistake.
func TestLargeRequestChangedDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	testenv.SkipIfRace(t) // the change is the race this test makes on purpose
	p := newRawPeer(t, 64<<10, time.Millisecond)
	var answered atomic.Bool
	p.onHeader = func(c net.Conn, h frame.Header) {
		if h.Kind == wire.KindRequest && answered.CompareAndSwap(false, true) {
			resp, _ := frame.AppendFrame(nil, frame.Header{Kind: wire.KindResponse, Stream: h.Stream}, nil)
			_, _ = c.Write(resp)
		}
	}
	opts := rpc.ClientOptions{}
	opts.Socket.MaxFrameSize = 16 << 20
	c := dial(t, p.ln.Addr().String(), opts)
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	req := bytes.Repeat([]byte{7}, 12<<20)
	close(p.start)
	changed := make(chan struct{})
	go func() {
		defer close(changed)
		for p.read.Load() < 1<<20 {
			time.Sleep(time.Millisecond)
		}
		req[len(req)-1] = 8 // the caller's mistake: req changes during Call
	}()
	defer func() {
		msg, _ := recover().(string)
		assert.Contains(t, msg, "rpc: the request of a Call changed while the call ran")
		<-changed
	}()
	_, _ = k.Call(context.Background(), mEcho, req, nil)
	t.Error("Call did not panic")
}

// A server that announces a large response and sends it slowly holds only
// what it sent of the client's read memory; when it closes mid-frame the
// call fails with the close and every read slab goes back.
func TestLargeResponseCutAndSlowHoldsOnlyWhatWasSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	slabs := pool.NewSlabPool(pool.Options{MaxSlabSize: 8 << 20, MaxIdleBytes: -1})
	opts := rpc.ClientOptions{}
	opts.Socket.SlabPool = slabs
	type accepted struct {
		c   net.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() { c, err := ln.Accept(); acc <- accepted{c, err} }()
	c := dial(t, ln.Addr().String(), opts)
	a := <-acc
	require.NoError(t, a.err)
	peer := a.c
	defer peer.Close()
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()

	res := goCall(k, context.Background(), []byte("give me 4 MiB"))
	var hb [frame.HeaderSize]byte
	_, err = io.ReadFull(peer, hb[:])
	require.NoError(t, err)
	h, err := frame.ParseHeader(hb[:])
	require.NoError(t, err)
	_, err = io.ReadFull(peer, make([]byte, h.Length))
	require.NoError(t, err)

	// A header announcing 4 MiB, then 64 KiB of it, slowly.
	const announced, sent = 4 << 20, 64 << 10
	hdr := frame.AppendHeader(nil, frame.Header{Length: announced, Kind: wire.KindResponse, Stream: h.Stream})
	_, err = peer.Write(hdr)
	require.NoError(t, err)
	for range sent / (4 << 10) {
		_, err = peer.Write(make([]byte, 4<<10))
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	until(t, "the client read what was sent", func() bool {
		return c.Conn().Stats().BytesIn >= uint64(len(hdr)+sent)
	})
	held := slabs.Stats().BytesInUse
	t.Logf("announced %d, sent %d: the client holds %d bytes of read slabs", announced, sent, held)
	assert.LessOrEqual(t, held, int64(8*(len(hdr)+sent)), "read memory within 8x the bytes sent, not the announced length")

	require.NoError(t, peer.Close())
	var ce *rpc.ClosedError
	assert.ErrorAs(t, waitCall(t, res).err, &ce)
	until(t, "the cut frame's slabs are back", func() bool { return slabs.Stats().SlabsInUse == 0 })
	assert.Zero(t, slabs.Stats().BytesInUse)
}

// With a negative CancelWriteGrace, a canceled call whose request is
// being written to a server that stopped reading waits for the write (the
// request is the connection's until then); Socket.WriteTimeout bounds
// that wait: the write fails, the connection closes, and Call returns
// ctx's error.
func TestLargeRequestStuckWriteBoundedByWriteTimeout(t *testing.T) {
	// The peer never starts reading. Both sides' socket buffers are
	// small (64 KiB), so the kernel cannot take the whole 12 MiB request
	// and the write must stall. With the defaults (a send buffer of up to
	// 4 MiB, a receive buffer autotuned up to 6 MiB) the margin was thin:
	// in one CI run under load the connection never timed out, most
	// likely because the kernel took the rest and the write completed.
	//
	// The peer reads the first 64 KiB and then stops: that the writer
	// has taken the request is seen on the peer's side. (Outstanding and
	// QueueDepth alone were not enough: a call is outstanding before its
	// request is queued, so a cancel could come first and withdraw the
	// request unwritten, and then nothing was there to time out.)
	p := newRawPeer(t, 64<<10, 0, func(p *rawPeer) {
		p.rcvBuf = 64 << 10
		p.holdAt = 64 << 10
	})
	close(p.start)
	opts := rpc.ClientOptions{}
	opts.Socket.MaxFrameSize = 16 << 20
	opts.Socket.WriteTimeout = 300 * time.Millisecond
	opts.CancelWriteGrace = -1
	c := dialSmallSendBuffer(t, p.ln.Addr().String(), opts)
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := goCall(k, ctx, bytes.Repeat([]byte{3}, 12<<20))
	until(t, "the writer took the request", func() bool { return p.read.Load() >= p.holdAt })
	cancel()
	r := waitCall(t, res)
	// Canceled, unless the write timed out before the cancel (a stalled
	// test goroutine): then the call ends with the connection's close.
	if !errors.Is(r.err, context.Canceled) {
		assert.ErrorIs(t, r.err, socket.ErrWriteTimeout, "the call ended by the write timeout, if not by its cancel")
	}
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close")
	}
	assert.ErrorIs(t, c.Err(), socket.ErrWriteTimeout)
}

// dialSmallSendBuffer dials addr with a 64 KiB socket send buffer, so
// that a peer that stops reading stops a 4 MiB request's write part way.
func dialSmallSendBuffer(t *testing.T, addr string, opts rpc.ClientOptions) *rpc.Client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, nc.(*net.TCPConn).SetWriteBuffer(64<<10))
	c, err := rpc.NewClient(nc, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// stalledLargeCall starts, on a client of a raw peer that stops reading
// after 1 MiB, a call whose 4 MiB request (one repeated byte, 9) the
// writer has partly written when it returns: the peer has read 1 MiB of
// it and stopped. Before it, a small call (written, read by the peer,
// never answered) is in flight on another Caller.
func stalledLargeCall(t *testing.T, grace time.Duration) (p *rawPeer, c *rpc.Client, req []byte, cancel context.CancelFunc, big, small chan callResult) {
	p = newRawPeer(t, 64<<10, 0, func(p *rawPeer) {
		p.holdAt = 1 << 20
		p.rcvBuf = 64 << 10
	})
	opts := rpc.ClientOptions{CancelWriteGrace: grace}
	c = dialSmallSendBuffer(t, p.ln.Addr().String(), opts)
	close(p.start)
	k1, err := c.NewCaller()
	require.NoError(t, err)
	t.Cleanup(k1.Close)
	small = goCall(k1, context.Background(), []byte("small"))
	f := <-p.frames
	require.Equal(t, wire.KindRequest, f.h.Kind, "the small call reached the peer")

	k, err := c.NewCaller()
	require.NoError(t, err)
	t.Cleanup(k.Close)
	req = bytes.Repeat([]byte{9}, 4<<20)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	big = goCall(k, ctx, req)
	until(t, "the writer is stuck part way through the request", func() bool {
		return p.read.Load() >= p.holdAt && c.Outstanding() == 2 && c.Conn().Stats().QueueDepth == 0
	})
	return p, c, req, cancel, big, small
}

// A call canceled while its large request is partly written to a server
// that stopped reading returns after ClientOptions.CancelWriteGrace: the
// client closes the connection with a *RequestAbandonedError, which fails
// the write and hands the request back, so the caller's slice, overwritten
// right after Call returns, tears nothing on the wire; the other calls on
// the connection, one answered never and one queued behind the stuck
// frame, end with a *ClosedError naming the cause (ErrClosed: they may
// have run). The test's timeouts only guard against a hang.
func TestLargeRequestCanceledMidWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace time.Duration
	}{{"default", 0}, {"50ms", 50 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			p, c, req, cancel, big, small := stalledLargeCall(t, tc.grace)
			k2, err := c.NewCaller()
			require.NoError(t, err)
			defer k2.Close()
			queued := goCall(k2, context.Background(), []byte("queued behind"))
			// Queued, seen in the queue: a call is outstanding before its
			// request is queued, and one still on its way when the grace
			// (50 ms) closed the connection was refused as not sent
			// (ErrUnavailable), not ended with the close.
			until(t, "the third call is queued", func() bool { return c.Outstanding() == 3 && c.Conn().Stats().QueueDepth == 1 })

			cancel()
			r := waitCall(t, big)
			assert.ErrorIs(t, r.err, context.Canceled)
			for i := range req {
				req[i] = 0xee
			}
			select {
			case <-c.Closed():
			case <-time.After(10 * time.Second):
				t.Fatal("the connection did not close")
			}
			var ra *rpc.RequestAbandonedError
			require.ErrorAs(t, c.Err(), &ra, "the connection's error names the cause: %v", c.Err())
			assert.ErrorIs(t, c.Err(), rpc.ErrClosed)
			assert.ErrorIs(t, c.Err(), rpc.ErrRequestAbandoned)
			assert.ErrorIs(t, c.Conn().Err(), rpc.ErrRequestAbandoned)
			assert.Equal(t, mEcho, ra.Method)
			assert.GreaterOrEqual(t, ra.Size, 4<<20, "the request frame: prefix and body")
			want := tc.grace
			if want == 0 {
				want = rpc.DefaultCancelWriteGrace
			}
			assert.Equal(t, want, ra.Grace)
			assert.ErrorIs(t, ra.Cause, context.Canceled)
			assert.Contains(t, c.Err().Error(), "CancelWriteGrace")
			for name, ch := range map[string]chan callResult{"in flight": small, "queued": queued} {
				err := waitCall(t, ch).err
				var ce *rpc.ClosedError
				assert.ErrorAs(t, err, &ce, "%s: %v", name, err)
				assert.ErrorIs(t, err, rpc.ErrClosed, name)
				assert.ErrorIs(t, err, rpc.ErrRequestAbandoned, name)
				assert.NotErrorIs(t, err, context.Canceled, "%s: its ctx did not end", name)
			}

			p.resume() // the peer reads what reached it: a cut request, all of it the request's
			f, ok := <-p.frames
			require.True(t, ok, "the peer read the request's frame")
			assert.Equal(t, wire.KindRequest, f.h.Kind)
			assert.False(t, f.whole, "the frame was cut by the close")
			assert.True(t, f.uniform && f.fill == 9, "the request on the wire is the request: %d body bytes, uniform %v, fill %#x", f.body, f.uniform, f.fill)
			for f := range p.frames {
				t.Errorf("a frame after the cut request: %+v", f)
			}
		})
	}
}

// With a negative CancelWriteGrace a canceled call waits for its write
// as before: while the peer does not read the call has not returned (a
// look after 200 ms, no upper bound), and once the peer reads on the call
// returns ctx's error, the whole request and a cancel frame behind it are
// on the wire, and the connection is open.
func TestLargeRequestCanceledMidWriteNegativeGraceWaits(t *testing.T) {
	p, c, req, cancel, big, small := stalledLargeCall(t, -1)
	cancel()
	select {
	case r := <-big:
		t.Fatalf("Call returned (%v) while its request was still being written", r.err)
	case <-time.After(200 * time.Millisecond):
	}
	p.resume()
	r := waitCall(t, big)
	assert.ErrorIs(t, r.err, context.Canceled)
	for i := range req {
		req[i] = 0xee
	}
	f := <-p.frames
	assert.True(t, f.whole && f.uniform && f.fill == 9 && f.body == 4<<20, "the whole request: %+v", f)
	f = <-p.frames
	assert.Equal(t, wire.KindCancel, f.h.Kind, "a cancel frame follows the request")
	assert.NoError(t, c.Err(), "the connection stays open")
	require.NoError(t, c.Close())
	var ce *rpc.ClosedError
	assert.ErrorAs(t, waitCall(t, small).err, &ce)
}

// Validate refuses a positive CancelWriteGrace under a millisecond, with
// the package's *OptionError; negative, zero and longer values pass, and
// Dial refuses what Validate does.
func TestCancelWriteGraceValidate(t *testing.T) {
	for _, g := range []time.Duration{1, time.Microsecond, time.Millisecond - 1} {
		err := rpc.ClientOptions{CancelWriteGrace: g}.Validate()
		var oe *rpc.OptionError
		require.ErrorAs(t, err, &oe, "%v", g)
		assert.ErrorIs(t, err, rpc.ErrInvalidOptions)
		assert.Equal(t, "CancelWriteGrace", oe.Field)
		assert.Equal(t, int64(g), oe.Value)
	}
	for _, g := range []time.Duration{-time.Hour, -1, 0, time.Millisecond, time.Second, time.Hour} {
		assert.NoError(t, rpc.ClientOptions{CancelWriteGrace: g}.Validate(), "%v", g)
	}
	_, err := rpc.Dial(context.Background(), "tcp", "127.0.0.1:1", rpc.ClientOptions{CancelWriteGrace: time.Microsecond})
	assert.ErrorIs(t, err, rpc.ErrInvalidOptions)
}

// A canceled call's cancel frame would queue behind the stuck request on
// a queue another call filled (QueueBytes): the call returns all the same,
// since once the grace is over the connection is closed and no cancel
// frame is queued; the call in the queue ends with a *ClosedError.
func TestLargeRequestCanceledMidWriteBehindFullQueue(t *testing.T) {
	_, c, _, cancel, big, small := stalledLargeCall(t, 50*time.Millisecond)
	k3, err := c.NewCaller()
	require.NoError(t, err)
	defer k3.Close()
	fill := goCall(k3, context.Background(), bytes.Repeat([]byte{5}, 4<<20)) // QueueBytes' worth
	until(t, "the filler is queued", func() bool { return c.Conn().Stats().QueueDepth == 1 })
	cancel()
	assert.ErrorIs(t, waitCall(t, big).err, context.Canceled)
	for _, ch := range []chan callResult{fill, small} {
		err := waitCall(t, ch).err
		var ce *rpc.ClosedError
		assert.ErrorAs(t, err, &ce, "%v", err)
		assert.ErrorIs(t, err, rpc.ErrRequestAbandoned)
	}
}

// A server that answers a large request before reading it all and then
// stops reading cannot hold the call past its ctx plus the grace: Call
// returns the answer, the connection is closed with a
// *RequestAbandonedError whose Cause is the ctx's, and the request on the
// wire is not torn by the caller's change after Call returns.
func TestLargeRequestEarlyAnswerThenStalled(t *testing.T) {
	var answered atomic.Bool
	p := newRawPeer(t, 64<<10, 0, func(p *rawPeer) {
		p.holdAt = 1 << 20
		p.rcvBuf = 64 << 10
		p.onHeader = func(c net.Conn, h frame.Header) {
			if h.Kind == wire.KindRequest && answered.CompareAndSwap(false, true) {
				// The answer, then a Ping: the client's reader queues
				// its Pong after it has handed the answer to the call.
				resp, _ := frame.AppendFrame(nil, frame.Header{Kind: wire.KindResponse, Stream: h.Stream}, []byte("early"))
				resp, _ = frame.AppendFrame(resp, frame.Header{Kind: wire.KindPing, Stream: 1}, nil)
				_, _ = c.Write(resp)
			}
		}
	})
	c := dialSmallSendBuffer(t, p.ln.Addr().String(), rpc.ClientOptions{CancelWriteGrace: 50 * time.Millisecond})
	close(p.start)
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	req := bytes.Repeat([]byte{4}, 4<<20)
	// The deadline passes once the call has its answer (expiringCtx):
	// the Pong queued behind the stalled request shows the reader got
	// past the answer. A 300 ms timeout could pass first on a loaded
	// machine (before the request was queued, or before the answer was
	// read), and the call then rightly ended with its deadline.
	ctx := newExpiringCtx()
	res := goCall(k, ctx, req)
	// The peer's 1 MiB read shows the writer took the request out of the
	// queue; what is queued then is the Pong.
	until(t, "the early answer was read (the Pong after it is queued)", func() bool {
		return p.read.Load() >= p.holdAt && c.Conn().Stats().QueueDepth == 1
	})
	ctx.expire()
	r := waitCall(t, res)
	assert.NoError(t, r.err, "the early answer")
	for i := range req {
		req[i] = 0xee
	}
	// The close the abandonment started completes on the connection's
	// goroutines: Call may return before the client records its cause.
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close")
	}
	var ra *rpc.RequestAbandonedError
	require.ErrorAs(t, c.Err(), &ra, "%v", c.Err())
	assert.ErrorIs(t, ra.Cause, context.DeadlineExceeded)
	p.resume()
	f := <-p.frames
	assert.True(t, !f.whole && f.uniform && f.fill == 4, "a cut request, all of it the request's: %+v", f)
}

// A canceled call never waits for queue room to send its Cancel: with the
// writer stuck on a peer that stopped reading and the call's lane full
// (QueueMessages 1, its 2 KiB request queued as its own item), Call
// returns the ctx's error at once; the Cancel is dropped, and the
// server's answer, if it ever comes, is dropped on arrival.
func TestCanceledCallNeverWaitsForQueueRoom(t *testing.T) {
	p := newRawPeer(t, 64<<10, 0, func(p *rawPeer) {
		p.holdAt = 1 << 20
		p.rcvBuf = 64 << 10
	})
	var opts rpc.ClientOptions
	opts.Socket.QueueMessages = 1
	c := dialSmallSendBuffer(t, p.ln.Addr().String(), opts)
	close(p.start)
	kb, err := c.NewCaller()
	require.NoError(t, err)
	defer kb.Close()
	big := goCall(kb, context.Background(), bytes.Repeat([]byte{9}, 4<<20))
	until(t, "the writer is stuck part way through the large request", func() bool {
		return p.read.Load() >= p.holdAt && c.Conn().Stats().QueueDepth == 0
	})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := goCall(k, ctx, bytes.Repeat([]byte{1}, 2048))
	until(t, "the small call's request is queued", func() bool { return c.Conn().Stats().QueueDepth == 1 })
	cancel()
	assert.ErrorIs(t, waitCall(t, a).err, context.Canceled)
	require.NoError(t, c.Close())
	assert.Error(t, waitCall(t, big).err, "the large call ends with the connection")
}
