package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// requireExhausted checks err is a CodeResourceExhausted *Error naming
// limit and where it is set.
func requireExhausted(t *testing.T, err error, limit int, option string) {
	t.Helper()
	require.ErrorIs(t, err, rpc.ErrResourceExhausted)
	var e *rpc.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Message, fmt.Sprint(limit), "the error says the limit")
	assert.Contains(t, e.Message, option)
	assert.NotErrorIs(t, err, rpc.ErrUnavailable)
	assert.NotErrorIs(t, err, rpc.ErrClosed)
}

// TestOversizedFrameIsThatCallsError: a client whose MaxFrameSize is
// larger than the server's sends requests over the server's frame limit
// (which the server's frame layer skips, reading none of them): each is
// answered with CodeResourceExhausted naming the limit, fire-and-forget
// ones are dropped and counted, and the calls in flight and running
// concurrently on the same connection all succeed.
func TestOversizedFrameIsThatCallsError(t *testing.T) {
	const limit = 4096
	ts := startServer(t, rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: limit}})
	c := dial(t, ts.addr, rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: 4 << 20}})
	ctx := testCtx(t)
	inflight := make(chan error, 1)
	go func() {
		got, err := c.Call(ctx, mBlock, []byte("small"), nil)
		if err == nil && string(got) != "released" {
			err = errors.New("wrong response")
		}
		inflight <- err
	}()
	wait(t, ts.entered)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req := fmt.Appendf(nil, "call %d.%d", g, i)
				got, err := c.Call(ctx, mEcho, req, nil)
				if err == nil && string(got) != string(req) {
					err = fmt.Errorf("got %q for %q", got, req)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	big := 0
	for _, size := range []int{limit + 1, 64 << 10, 3 << 20} {
		for _, method := range []uint32{mEcho, mEchoInline, mStream} {
			_, err := c.Call(ctx, method, make([]byte, size), nil)
			requireExhausted(t, err, limit, "MaxFrameSize")
			big++
		}
	}
	require.NoError(t, c.Send(ctx, mNotify, make([]byte, 64<<10)), "sent: dropped by the server")
	require.NoError(t, c.Send(ctx, mNotify, []byte("after")))
	select {
	case got := <-ts.notify:
		assert.Equal(t, "after", string(got), "the oversized fire-and-forget never ran")
	case <-time.After(10 * time.Second):
		t.Fatal("fire-and-forget after the oversized one not run")
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	close(ts.release)
	require.NoError(t, <-inflight, "the call in flight was not disturbed")
	assert.Nil(t, c.Err())
	assert.Equal(t, uint64(big+1), ts.srv.Stats().TooLarge)
}

// TestOversizedStreamMessage: a stream message over the server's frame
// limit ends that stream with CodeResourceExhausted; a unary call and
// another stream on the connection go on.
func TestOversizedStreamMessage(t *testing.T) {
	const limit = 4096
	srv, addr, _ := streamServer(t, rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: limit}})
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	c := dial(t, addr, rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: 1 << 20}})
	ctx := testCtx(t)
	victim, err := c.OpenStream(ctx, sBidi, nil)
	require.NoError(t, err)
	defer victim.Close()
	other, err := c.OpenStream(ctx, sBidi, nil)
	require.NoError(t, err)
	defer other.Close()

	require.NoError(t, victim.Send([]byte("one")))
	got, err := victim.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))
	require.NoError(t, victim.Send(make([]byte, 100<<10)))
	_, err = victim.Recv(nil)
	requireExhausted(t, err, limit, "MaxFrameSize")

	require.NoError(t, other.Send([]byte("two")))
	got, err = other.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got), "the other stream goes on")
	got, err = c.Call(ctx, mEcho, []byte("three"), nil)
	require.NoError(t, err)
	assert.Equal(t, "three", string(got))
	assert.Nil(t, c.Err())
	assert.Equal(t, uint64(1), srv.Stats().TooLarge)
}

// TestOversizedResponse: a response, or a stream message, over the
// client's frame limit fails only that call or stream with
// CodeResourceExhausted naming the client's limit; the connection and its
// other calls go on.
func TestOversizedResponse(t *testing.T) {
	const limit = 4096
	srv, addr, _ := streamServer(t, rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: 1 << 20}})
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	srv.Handle(mEchoInline, func(_ context.Context, req, dst []byte) ([]byte, error) {
		return append(dst, make([]byte, 200<<10)...), nil
	}, rpc.Inline)
	c := dial(t, addr, rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: limit}})
	ctx := testCtx(t)

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				req := fmt.Appendf(nil, "call %d.%d", g, i)
				got, err := c.Call(ctx, mEcho, req, nil)
				assert.NoError(t, err)
				assert.Equal(t, string(req), string(got))
			}
		})
	}
	for range 5 {
		_, err := c.Call(ctx, mEchoInline, nil, nil)
		requireExhausted(t, err, limit, "ClientOptions.Socket.MaxFrameSize")
	}
	wg.Wait()

	// Streams on the connection work too.
	st, err := c.OpenStream(ctx, sServer, nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Send([]byte("3")))
	for i := range 3 {
		got, err := st.Recv(nil)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(i), string(got))
	}
	got, err := c.Call(ctx, mEcho, []byte("still here"), nil)
	require.NoError(t, err)
	assert.Equal(t, "still here", string(got))
	assert.Nil(t, c.Err())
}

// TestOversizedServerStreamMessageToClient: a server stream message over
// the client's frame limit ends that stream (the client cancels it on the
// server) with CodeResourceExhausted.
func TestOversizedServerStreamMessageToClient(t *testing.T) {
	const limit = 4096
	srv, err := rpc.NewServer(rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: 1 << 20}})
	require.NoError(t, err)
	handlerErr := make(chan error, 1)
	srv.HandleStream(sServer, func(ctx context.Context, st *rpc.ServerStream) error {
		if err := st.Send([]byte("small")); err != nil {
			return err
		}
		if err := st.Send(make([]byte, 100<<10)); err != nil {
			return err
		}
		<-ctx.Done() // the client cancels
		handlerErr <- ctx.Err()
		return ctx.Err()
	})
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	addr := serve(t, srv)
	c := dial(t, addr, rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: limit}})
	ctx := testCtx(t)
	st, err := c.OpenStream(ctx, sServer, nil)
	require.NoError(t, err)
	defer st.Close()
	got, err := st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "small", string(got))
	_, err = st.Recv(nil)
	requireExhausted(t, err, limit, "ClientOptions.Socket.MaxFrameSize")
	select {
	case err := <-handlerErr:
		assert.ErrorIs(t, err, context.Canceled, "the client canceled the stream")
	case <-time.After(10 * time.Second):
		t.Fatal("the server's stream was not canceled")
	}
	got, err = c.Call(ctx, mEcho, []byte("on"), nil)
	require.NoError(t, err)
	assert.Equal(t, "on", string(got))
}

// TestOversizedHostilePeer: a raw peer announces a request of 512 MiB
// and drips its body. The server answers CodeResourceExhausted at once
// (before the body arrives), holds one read slab (32 KiB) however much of
// the announced length is yet to come, and when the peer closes mid-skip
// every slab comes back (and goleak, in TestMain, finds no goroutine
// left). A peer that completes a skipped frame goes on with its next call.
func TestOversizedHostilePeer(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1})
	closed := make(chan error, 4)
	ts := startServer(t, rpc.ServerOptions{
		Socket:       socket.Options{SlabPool: p, MaxFrameSize: 64 << 10},
		OnDisconnect: func(_ *rpc.ConnInfo, err error) { closed <- err },
	})

	t.Run("drip then close", func(t *testing.T) {
		r := dialRaw(t, ts.addr)
		r.send(wire.KindPing, 0, 1, 0, nil)
		h, _ := r.next()
		require.Equal(t, wire.KindPong, h.Kind)
		_, err := r.nc.Write(frame.AppendHeader(nil, frame.Header{Kind: wire.KindRequest, Stream: 7, Type: mEcho, Length: 512 << 20}))
		require.NoError(t, err)
		r.expectError(7, rpc.CodeResourceExhausted)
		chunk := make([]byte, 1000)
		for range 256 {
			_, err := r.nc.Write(chunk)
			require.NoError(t, err)
			assert.LessOrEqual(t, p.Stats().BytesInUse, int64(frame.DefaultSlabSize), "one read slab, not the 512 MiB announced")
		}
		require.NoError(t, r.nc.Close())
		select {
		case err := <-closed:
			assert.ErrorIs(t, err, frame.ErrTruncated, "closed mid-skip")
		case <-time.After(10 * time.Second):
			t.Fatal("server did not see the close")
		}
		require.Eventually(t, func() bool { return p.Stats().SlabsInUse == 0 }, 10*time.Second, time.Millisecond,
			"slabs released: %+v", p.Stats())
	})

	t.Run("skip completes and the connection goes on", func(t *testing.T) {
		r := dialRaw(t, ts.addr)
		const n = 300 << 10
		_, err := r.nc.Write(frame.AppendHeader(nil, frame.Header{Kind: wire.KindRequest, Stream: 3, Type: mEcho, Length: n}))
		require.NoError(t, err)
		r.expectError(3, rpc.CodeResourceExhausted)
		_, err = r.nc.Write(make([]byte, n))
		require.NoError(t, err)
		body, err := wire.AppendPrefix(nil, wire.Prefix{})
		require.NoError(t, err)
		r.send(wire.KindRequest, 0, 4, mEcho, append(body, "next"...))
		h, got := r.next()
		require.Equal(t, wire.KindResponse, h.Kind)
		require.Equal(t, uint32(4), h.Stream)
		assert.Equal(t, "next", string(got))
	})

	t.Run("over the skip limit closes", func(t *testing.T) {
		closed := make(chan error, 1)
		ts := startServer(t, rpc.ServerOptions{
			Socket:       socket.Options{MaxFrameSize: 4096, MaxSkipSize: 1 << 20},
			OnDisconnect: func(_ *rpc.ConnInfo, err error) { closed <- err },
		})
		r := dialRaw(t, ts.addr)
		r.send(wire.KindPing, 0, 1, 0, nil)
		r.next()
		_, err := r.nc.Write(frame.AppendHeader(nil, frame.Header{Kind: wire.KindRequest, Stream: 7, Type: mEcho, Length: 1<<20 + 1}))
		require.NoError(t, err)
		select {
		case err := <-closed:
			assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
			assert.Contains(t, err.Error(), "skip limit 1048576")
		case <-time.After(10 * time.Second):
			t.Fatal("not closed")
		}
		require.NoError(t, r.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = r.fr.Next()
		assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err), "the peer sees the close: %v", err)
	})
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

// TestOversizedOptions: Socket.Oversized defaults to skip in this
// package and can be set back to closing.
func TestOversizedOptions(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: 4096, Oversized: socket.OversizedClose}})
	c := dial(t, ts.addr, rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: 1 << 20}})
	_, err := c.Call(testCtx(t), mEcho, make([]byte, 8192), nil)
	require.ErrorIs(t, err, rpc.ErrClosed, "OversizedClose: the connection closes, as before")
}
