package compat_test

// Each test here checks one protosocket-rpc rule (docs/rpc-wire.md,
// "Compatibility mode") against a fake Rust-style peer that writes and
// reads the exact bytes prost produces.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

var modes = []struct {
	name string
	opts compat.Options
}{{"pooled", compat.Options{}}, {"inline", compat.Options{Mode: compat.Inline}}}

// Rule: a Normal message has no code field (`08 ac 02 1a 01 78` for id
// 300 body "x"); the unary reply carries the request's id; no End follows.
func TestRuleUnaryBytes(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := start(t, echoHandler, m.opts)
			p := dialRaw(t, addr)
			p.sendBytes([]byte{0x06, 0x08, 0xac, 0x02, 0x1a, 0x01, 'x'})
			assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x1a, 0x01, 'x'}, p.recv())
			p.expectNothing(100 * time.Millisecond) // no End after a unary reply
		})
	}
}

// Rule: the Go client's request is the prost encoding (no code field for
// Normal) and its Cancel is id and code only (`08 01 10 01`).
func TestRuleClientBytes(t *testing.T) {
	got := make(chan []byte, 2)
	addr := fakeRustServer(t, func(p *rawPeer) {
		got <- p.recv() // the request
		got <- p.recv() // the Cancel
	})
	cl := dial(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- cl.Call(ctx, &msg{body: []byte("x")}, new(msg)) }()
	assert.Equal(t, []byte{0x08, 0x01, 0x1a, 0x01, 'x'}, <-got)
	cancel()
	// The client frees the id and waits for nothing: the fake server
	// never answers.
	require.ErrorIs(t, <-res, context.Canceled)
	assert.Equal(t, []byte{0x08, 0x01, 0x10, 0x01}, <-got)
}

// Rule: a server rejects a call with Cancel (`08 ac 02 10 01`), never an
// error message or silence.
func TestRuleServerRejectsWithCancel(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := start(t, func(_ context.Context, req, resp *msg) error {
				if len(req.body) == 0 {
					return errors.New("no body") // as the upstream example server
				}
				if string(req.body) == "panic" {
					panic("boom")
				}
				return echoHandler(context.Background(), req, resp)
			}, m.opts)
			p := dialRaw(t, addr)
			p.send(enc(300, 0, ""))
			assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x10, 0x01}, p.recv())
			p.send(enc(301, 0, "panic"))
			assert.Equal(t, enc(301, 1, ""), p.recv())
			p.send(enc(302, 0, "ok")) // the connection still works
			assert.Equal(t, enc(302, 0, "ok"), p.recv())
		})
	}
}

// Rule: after the client's Cancel (`05 08 ac 02 10 01`) the server aborts
// the call and sends Cancel, never End; a Cancel for a finished call gets
// nothing.
func TestRuleAbortSendsCancelNotEnd(t *testing.T) {
	entered := make(chan struct{}, 1)
	var aborted atomic.Int32
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(ctx context.Context, req, resp *msg) error {
		if string(req.body) == "block" {
			entered <- struct{}{}
			<-ctx.Done()
			aborted.Add(1)
			return ctx.Err()
		}
		return echoHandler(ctx, req, resp)
	}, compat.Options{})
	p := dialRaw(t, serve(t, srv))
	p.send(enc(300, 0, "block"))
	<-entered
	p.sendBytes([]byte{0x05, 0x08, 0xac, 0x02, 0x10, 0x01})
	assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x10, 0x01}, p.recv())
	// The Cancel may go out before the handler has run its last line.
	require.Eventually(t, func() bool { return aborted.Load() == 1 }, 10*time.Second, time.Millisecond,
		"the handler's ctx was canceled")

	p.send(enc(7, 0, "done"))
	assert.Equal(t, enc(7, 0, "done"), p.recv())
	p.send(enc(7, 1, "")) // the call is over: nothing comes back
	p.send(enc(8, 0, "next"))
	assert.Equal(t, enc(8, 0, "next"), p.recv())
	p.expectNothing(100 * time.Millisecond)
	require.Eventually(t, func() bool { return srv.Stats().Canceled == 1 }, 10*time.Second, time.Millisecond,
		"the aborted call is counted as canceled")
	assert.Equal(t, uint64(1), srv.Stats().Ignored) // the Cancel for 7
}

// Rule: codes 3..255 are read as Cancel; the u32 field is truncated to u8
// (256 reads as Normal, 257 as Cancel, 258 as End).
func TestRuleCodeTruncation(t *testing.T) {
	entered := make(chan struct{}, 4)
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(ctx context.Context, req, resp *msg) error {
		if string(req.body) == "block" {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		return echoHandler(ctx, req, resp)
	}, compat.Options{})
	p := dialRaw(t, serve(t, srv))
	for i, code := range []uint64{3, 255, 257, 1<<32 + 1} {
		id := uint64(100 + i)
		p.send(enc(id, 0, "block"))
		<-entered
		p.send(enc(id, code, "")) // read as Cancel: the call is aborted
		assert.Equal(t, enc(id, 1, ""), p.recv(), "code %d", code)
	}
	p.send(enc(200, 256, "as normal")) // 256 & 0xff == 0: a request
	assert.Equal(t, enc(200, 0, "as normal"), p.recv())
	p.send(enc(201, 258, "end")) // reads as End from a client: ignored
	p.send(enc(202, 0, "after"))
	assert.Equal(t, enc(202, 0, "after"), p.recv())
}

// Rule: a request whose id is in flight starts a second call and both
// answer; Options.RejectDuplicates rejects the second with Cancel.
func TestRuleDuplicateIDs(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	h := func(ctx context.Context, req, resp *msg) error {
		if string(req.body) != "fast" {
			entered.Done()
			<-release
		}
		return echoHandler(ctx, req, resp)
	}
	t.Run("both-answer", func(t *testing.T) {
		release = make(chan struct{})
		p := dialRaw(t, start(t, h, compat.Options{}))
		entered.Add(2)
		p.send(enc(5, 0, "a"), enc(5, 0, "b"))
		entered.Wait()
		close(release)
		got := map[string]bool{}
		for range 2 {
			m := parse(t, p.recv())
			assert.Equal(t, uint64(5), m.id)
			got[string(m.body)] = true
		}
		assert.Equal(t, map[string]bool{"a": true, "b": true}, got)
	})
	t.Run("reject", func(t *testing.T) {
		release = make(chan struct{})
		p := dialRaw(t, start(t, h, compat.Options{RejectDuplicates: true}))
		entered.Add(1)
		p.send(enc(5, 0, "a"))
		entered.Wait()
		p.send(enc(5, 0, "b"))
		assert.Equal(t, enc(5, 1, ""), p.recv()) // the duplicate, rejected
		close(release)
		assert.Equal(t, enc(5, 0, "a"), p.recv())
	})
}

// streamServer streams one item per byte of the body (as the upstream
// example does for STREAM) when the body starts with "s:", and blocks
// after the items when it starts with "w:".
func streamServer(t *testing.T) (*compat.Server[msg, msg], string) {
	srv := compat.NewServer[msg, msg](codec{}, codec{}, echoHandler, compat.Options{})
	srv.HandleStream(func(req *msg) bool { return len(req.body) > 2 && req.body[1] == ':' },
		func(ctx context.Context, req *msg, s *compat.ServerStream[msg, msg]) error {
			var item msg
			for _, c := range req.body[2:] {
				item.body = append(item.body[:0], c)
				if err := s.Send(&item); err != nil {
					return err
				}
			}
			switch req.body[0] {
			case 'w':
				<-ctx.Done()
				return ctx.Err()
			case 'x':
				return errors.New("rejected after items")
			}
			return nil
		})
	return srv, serve(t, srv)
}

// Rule: a stream is answered by its items, then End (`08 ac 02 10 02`).
func TestRuleServerStreamItemsThenEnd(t *testing.T) {
	_, addr := streamServer(t)
	p := dialRaw(t, addr)
	p.send(enc(300, 0, "s:abc"))
	for _, c := range "abc" {
		assert.Equal(t, enc(300, 0, string(c)), p.recv())
	}
	assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x10, 0x02}, p.recv())
	p.send(enc(301, 0, "x:a")) // an error after an item: Cancel, not End
	assert.Equal(t, enc(301, 0, "a"), p.recv())
	assert.Equal(t, enc(301, 1, ""), p.recv())
	p.send(enc(302, 0, "unary")) // unary calls on the same server
	assert.Equal(t, enc(302, 0, "unary"), p.recv())
}

// Rule: a canceled stream ends with Cancel, never End.
func TestRuleServerStreamCancel(t *testing.T) {
	srv, addr := streamServer(t)
	p := dialRaw(t, addr)
	p.send(enc(9, 0, "w:ab"))
	assert.Equal(t, enc(9, 0, "a"), p.recv())
	assert.Equal(t, enc(9, 0, "b"), p.recv())
	p.send(enc(9, 1, ""))
	assert.Equal(t, enc(9, 1, ""), p.recv())
	p.expectNothing(100 * time.Millisecond)
	// Counted by the reader after it canceled the call, which may answer
	// first: waited for, not read once after 100 ms (a loaded machine
	// could hold the reader that long).
	require.Eventually(t, func() bool { return srv.Stats().Canceled == 1 }, 10*time.Second, time.Millisecond,
		"the canceled stream is counted")
}

// Rule: a client that gets Cancel ends the call ("cancelled remotely");
// End with no reply ends a unary call too (ErrNoResponse).
func TestRuleClientGetsCancel(t *testing.T) {
	addr := fakeRustServer(t, func(p *rawPeer) {
		m := parse(t, p.recv())
		p.send(enc(m.id, 1, "")) // rejected
		m = parse(t, p.recv())
		p.send(enc(m.id, 2, "")) // End, no reply
		m = parse(t, p.recv())
		p.send(enc(m.id, 0, "fine"))
		_, _ = p.recvWithin(10 * time.Second) // until the client closes
	})
	cl := dial(t, addr)
	require.ErrorIs(t, cl.Call(context.Background(), &msg{}, new(msg)), compat.ErrCancelledRemotely)
	require.ErrorIs(t, cl.Call(context.Background(), &msg{}, new(msg)), compat.ErrNoResponse)
	var r msg
	require.NoError(t, cl.Call(context.Background(), &msg{}, &r))
	assert.Equal(t, "fine", string(r.body))
}

// Rule: a client stream gets its items, then io.EOF at End; an item after
// End (and a Cancel for an unknown id) is ignored; a Cancel ends a stream
// with ErrCancelledRemotely.
func TestRuleClientStream(t *testing.T) {
	addr := fakeRustServer(t, func(p *rawPeer) {
		m := parse(t, p.recv())
		p.send(enc(m.id, 0, "a"), enc(m.id, 0, "b"), enc(m.id, 2, "ignored body"),
			enc(m.id, 0, "after end"), enc(999, 1, ""))
		m = parse(t, p.recv())
		p.send(enc(m.id, 0, "c"), enc(m.id, 1, ""))
		_, _ = p.recvWithin(10 * time.Second)
	})
	cl := dial(t, addr)
	st, err := cl.Stream(context.Background(), &msg{body: []byte("go")})
	require.NoError(t, err)
	var got []string
	for {
		r, err := st.Recv()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		got = append(got, string(r.body))
	}
	assert.Equal(t, []string{"a", "b"}, got)
	require.NoError(t, st.Close())

	st, err = cl.Stream(context.Background(), &msg{body: []byte("go")})
	require.NoError(t, err)
	r, err := st.Recv()
	require.NoError(t, err)
	assert.Equal(t, "c", string(r.body))
	_, err = st.Recv()
	require.ErrorIs(t, err, compat.ErrCancelledRemotely)
	assert.Eventually(t, func() bool { return cl.Ignored() == 2 }, 10*time.Second, time.Millisecond)
}

// Rule: a client that cancels a stream sends Cancel (id and code only)
// and waits for nothing.
func TestRuleClientStreamCancel(t *testing.T) {
	got := make(chan []byte, 2)
	addr := fakeRustServer(t, func(p *rawPeer) {
		m := parse(t, p.recv())
		p.send(enc(m.id, 0, "a"))
		got <- p.recv()
	})
	cl := dial(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := cl.Stream(ctx, &msg{body: []byte("go")})
	require.NoError(t, err)
	_, err = st.Recv()
	require.NoError(t, err)
	cancel()
	// The Cancel goes out when ctx ends, before any Recv.
	assert.Equal(t, []byte{0x08, 0x01, 0x10, 0x01}, <-got)
	_, err = st.Recv()
	require.ErrorIs(t, err, context.Canceled)
}

// Go client and Go server together, unary and streaming, with and
// without a Peeker.
func TestGoToGo(t *testing.T) {
	srv, addr := streamServer(t)
	for _, pc := range []bool{false, true} {
		t.Run(fmt.Sprint("peek=", pc), func(t *testing.T) {
			var c compat.Codec[msg] = codec{}
			if pc {
				c = peekCodec{}
			}
			cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, c, c, compat.Options{})
			require.NoError(t, err)
			defer cl.Close()
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					body := fmt.Sprintf("call %d", i)
					var r msg
					if assert.NoError(t, cl.Call(context.Background(), &msg{body: []byte(body)}, &r)) {
						assert.Equal(t, body, string(r.body))
					}
					st, err := cl.Stream(context.Background(), &msg{body: []byte("s:xyz")})
					if !assert.NoError(t, err) {
						return
					}
					defer st.Close()
					var got string
					for {
						r, err := st.Recv()
						if err != nil {
							assert.ErrorIs(t, err, io.EOF)
							break
						}
						got += string(r.body)
					}
					assert.Equal(t, "xyz", got)
				})
			}
			wg.Wait()
		})
	}
	assert.Zero(t, srv.Stats().Failed)
}

// A Go client's cancel reaches a Go server's handler, which ends.
func TestGoClientCancel(t *testing.T) {
	entered, ended := make(chan struct{}), make(chan struct{})
	addr := start(t, func(ctx context.Context, req, resp *msg) error {
		if string(req.body) != "b" {
			return echoHandler(ctx, req, resp)
		}
		close(entered)
		<-ctx.Done()
		close(ended)
		return ctx.Err()
	}, compat.Options{})
	cl := dial(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- cl.Call(ctx, &msg{body: []byte("b")}, new(msg)) }()
	<-entered
	cancel()
	require.ErrorIs(t, <-res, context.Canceled)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the Cancel message did not cancel the handler")
	}
	var r msg // the connection still works; the server's Cancel for the old id was ignored
	require.NoError(t, cl.Call(context.Background(), &msg{body: []byte("again")}, &r))
}

func TestClosedEndsCalls(t *testing.T) {
	entered := make(chan struct{})
	addr := start(t, func(ctx context.Context, req, resp *msg) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}, compat.Options{})
	cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, codec{}, codec{}, compat.Options{})
	require.NoError(t, err)
	res := make(chan error, 1)
	go func() { res <- cl.Call(context.Background(), &msg{body: []byte("b")}, new(msg)) }()
	<-entered
	require.NoError(t, cl.Close())
	require.ErrorIs(t, <-res, compat.ErrClosed)
	require.ErrorIs(t, cl.Call(context.Background(), &msg{}, new(msg)), compat.ErrClosed)
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []compat.Options{{Mode: 7}, {Workers: -1}, {MaxInFlight: -1}, {MaxInFlightBytes: -1},
		{Socket: socket.Options{Oversized: socket.OversizedSkip}}} {
		require.ErrorIs(t, o.Validate(), compat.ErrInvalidOptions)
		_, err := compat.Dial[msg, msg](context.Background(), "tcp", "127.0.0.1:1", codec{}, codec{}, o)
		require.ErrorIs(t, err, compat.ErrInvalidOptions)
	}
	require.NoError(t, compat.Options{}.Validate())
}

// Rule: a Cancel for a call whose reply the client has is for a finished
// call: ignored, never counted as a cancel, even while the worker that
// sent the reply has not finished with it (the server used to keep the
// call listed until then; under load a Cancel sent at once on the reply
// found it). The same id can be reused at once, also with duplicates
// rejected.
func TestRuleCancelAfterReplyIgnored(t *testing.T) {
	srv := compat.NewServer[msg, msg](codec{}, codec{}, echoHandler, compat.Options{RejectDuplicates: true})
	p := dialRaw(t, serve(t, srv))
	const rounds = 2000
	for i := range rounds {
		p.send(enc(7, 0, "x"))
		require.Equal(t, enc(7, 0, "x"), p.recv(), "round %d: the same id, reused at once", i)
		p.send(enc(7, 1, ""))
	}
	p.send(enc(8, 0, "last"))
	assert.Equal(t, enc(8, 0, "last"), p.recv())
	st := srv.Stats()
	assert.Zero(t, st.Canceled, "Cancels for answered calls")
	assert.Equal(t, uint64(rounds), st.Ignored)
	assert.Zero(t, st.Rejected, "a reused id is not a duplicate")
}

// The same for a stream: once its End is queued the id is free, so a
// client that has the End reuses it at once (a new stream, not a
// duplicate) and a Cancel for it is Ignored. The stream's goroutine used
// to leave the calls by id only when it finished, after the End: a reuse
// was refused as a duplicate (Cancel), 1 in about 1,000 under -race.
func TestRuleCancelAfterStreamEndIgnored(t *testing.T) {
	srv := compat.NewServer[msg, msg](codec{}, codec{}, echoHandler, compat.Options{RejectDuplicates: true})
	srv.HandleStream(func(req *msg) bool { return len(req.body) > 2 && req.body[1] == ':' },
		func(_ context.Context, _ *msg, _ *compat.ServerStream[msg, msg]) error { return nil })
	p := dialRaw(t, serve(t, srv))
	const rounds = 2000
	end := []byte{0x08, 0x07, 0x10, 0x02}
	for i := range rounds {
		p.send(enc(7, 0, "s:a"))
		require.Equal(t, end, p.recv(), "round %d: the same id, reused at once, ends with End", i)
		p.send(enc(7, 1, ""))
	}
	p.send(enc(8, 0, "last"))
	assert.Equal(t, enc(8, 0, "last"), p.recv())
	st := srv.Stats()
	assert.Zero(t, st.Canceled, "Cancels for ended streams")
	assert.Equal(t, uint64(rounds), st.Ignored)
	assert.Zero(t, st.Rejected, "a reused id is not a duplicate")
}
