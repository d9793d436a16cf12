package rpc_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

func mdString(md rpc.Metadata) string {
	var s string
	md.Range(func(k, v []byte) bool { s += string(k) + "=" + string(v) + ";"; return true })
	return s
}

func respMDServer(t *testing.T, opts rpc.ServerOptions) string {
	srv, err := rpc.NewServer(opts)
	require.NoError(t, err)
	h := func(ctx context.Context, req, dst []byte) ([]byte, error) {
		if err := rpc.SetHeader(ctx, "h", []byte("1")); err != nil {
			return dst, err
		}
		if err := rpc.SetTrailer(ctx, "t", req); err != nil {
			return dst, err
		}
		if string(req) == "fail" {
			return dst, rpc.NewError(rpc.CodeAborted, "failed")
		}
		if string(req) == "big" {
			err := rpc.SetHeader(ctx, "x", make([]byte, wire.MaxMetadataSize))
			if err != rpc.ErrMetadataTooLarge {
				return dst, rpc.NewError(rpc.CodeInternal, "no bound")
			}
		}
		return append(dst, "ok"...), nil
	}
	srv.Handle(1, h, rpc.Inline)
	srv.Handle(2, h, rpc.Pooled)
	srv.Handle(3, func(ctx context.Context, req, dst []byte) ([]byte, error) { return append(dst, "plain"...), nil }, rpc.Inline)
	srv.HandleStream(4, func(ctx context.Context, st *rpc.ServerStream) error {
		if err := rpc.SetHeader(ctx, "sh", []byte("a")); err != nil {
			return err
		}
		if err := st.Send([]byte("m1")); err != nil {
			return err
		}
		if err := rpc.SetHeader(ctx, "late", nil); err != rpc.ErrHeaderSent {
			return rpc.NewError(rpc.CodeInternal, "header set after it was sent")
		}
		if err := rpc.SetTrailer(ctx, "st", []byte("z")); err != nil {
			return err
		}
		return nil
	})
	srv.HandleStream(5, func(ctx context.Context, st *rpc.ServerStream) error {
		_ = rpc.SetTrailer(ctx, "why", []byte("denied"))
		return rpc.NewError(rpc.CodePermissionDenied, "no")
	})
	return serve(t, srv)
}

// Headers and trailers reach the caller on unary calls (inline, pooled,
// with an error) and streams (header before the first message, trailer
// with the end); a call that does not ask gets nothing and costs nothing.
func TestResponseMetadata(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		addr := respMDServer(t, rpc.ServerOptions{ReuseContexts: reuse})
		c := dial(t, addr, rpc.ClientOptions{})
		ctx := testCtx(t)
		var rmd rpc.ResponseMetadata
		mctx := rpc.WithResponseMetadata(ctx, &rmd)
		for _, m := range []uint32{1, 2} {
			rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
			got, err := c.Call(mctx, m, []byte("r"), nil)
			require.NoError(t, err)
			assert.Equal(t, "ok", string(got))
			assert.Equal(t, "h=1;", mdString(rmd.Header), "method %d", m)
			assert.Equal(t, "t=r;", mdString(rmd.Trailer), "method %d", m)

			rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
			_, err = c.Call(mctx, m, []byte("fail"), nil)
			require.ErrorIs(t, err, rpc.ErrAborted)
			assert.Equal(t, "t=fail;", mdString(rmd.Trailer), "a trailer comes with an error too")

			rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
			_, err = c.Call(mctx, m, []byte("big"), nil)
			require.NoError(t, err, "SetHeader over the bound is refused, the call goes on")
			assert.Equal(t, "h=1;", mdString(rmd.Header))
		}
		rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
		_, err := c.Call(mctx, 3, nil, nil)
		require.NoError(t, err)
		assert.Empty(t, rmd.Header)
		assert.Empty(t, rmd.Trailer)
		_, err = c.Call(ctx, 1, []byte("r"), nil) // not asked for: dropped
		require.NoError(t, err)

		st, err := c.OpenStream(ctx, 4, nil)
		require.NoError(t, err)
		b, err := st.Recv(nil)
		require.NoError(t, err)
		assert.Equal(t, "m1", string(b))
		assert.Equal(t, "sh=a;", mdString(st.Header()))
		_, err = st.Recv(nil)
		require.ErrorIs(t, err, io.EOF)
		assert.Equal(t, "st=z;", mdString(st.Trailer()))
		require.NoError(t, st.Close())

		st, err = c.OpenStream(ctx, 5, nil)
		require.NoError(t, err)
		_, err = st.Recv(nil)
		require.ErrorIs(t, err, rpc.ErrPermissionDenied)
		assert.Equal(t, "why=denied;", mdString(st.Trailer()))
		require.NoError(t, st.Close())
	}
	// Outside a handler.
	require.ErrorIs(t, rpc.SetHeader(context.Background(), "k", nil), rpc.ErrNotHandlerContext)
	require.ErrorIs(t, rpc.SetTrailer(context.Background(), "k", nil), rpc.ErrNotHandlerContext)
}

// A hostile server's header frames are bounded: over MaxMetadataSize in
// all, or malformed, the call ends with CodeProtocol.
func TestResponseMetadataHostile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c := dial(t, ln.Addr().String(), rpc.ClientOptions{})
	nc, err := ln.Accept()
	require.NoError(t, err)
	defer nc.Close()
	conn := &raw{t: t, nc: nc, fr: frame.NewReader(nc, frame.ReaderOptions{})}
	for _, tc := range []struct {
		name   string
		blocks [][]byte
	}{
		{"malformed", [][]byte{{5, 'a'}}},
		{"over the bound", func() [][]byte {
			var md rpc.Metadata
			md, _ = md.Append("k", make([]byte, 40000))
			return [][]byte{md, md}
		}()},
	} {
		var rmd rpc.ResponseMetadata
		res := make(chan error, 1)
		go func() {
			_, err := c.Call(rpc.WithResponseMetadata(testCtx(t), &rmd), 1, nil, nil)
			res <- err
		}()
		h, _ := conn.next()
		for h.Kind != wire.KindRequest { // the previous case's Cancel
			h, _ = conn.next()
		}
		for _, b := range tc.blocks {
			conn.send(wire.KindHeader, 0, h.Stream, h.Type, b)
		}
		conn.send(wire.KindResponse, 0, h.Stream, h.Type, []byte("late"))
		err := <-res
		require.ErrorIs(t, err, rpc.ErrProtocol, tc.name)
		assert.LessOrEqual(t, len(rmd.Header), wire.MaxMetadataSize)
	}
}

// With ReuseContexts and no response metadata asked for, a unary call
// still makes no allocation (client and server together).
func TestResponseMetadataZeroCostWhenUnused(t *testing.T) {
	testenv.SkipIfRace(t)
	addr := respMDServer(t, rpc.ServerOptions{ReuseContexts: true})
	c := dial(t, addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	_ = rpc.WithResponseMetadata(context.Background(), &rpc.ResponseMetadata{}) // the feature is in use elsewhere
	ctx := context.Background()
	dst := make([]byte, 0, 64)
	for range 100 {
		dst, err = k.Call(ctx, 3, nil, dst[:0])
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(1000, func() { dst, err = k.Call(ctx, 3, nil, dst[:0]) })
	require.NoError(t, err)
	assert.Zero(t, allocs)
	// And with it, reused: none either.
	var rmd rpc.ResponseMetadata
	mctx := rpc.WithResponseMetadata(ctx, &rmd)
	req := []byte("r")
	for range 100 {
		rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
		dst, err = k.Call(mctx, 1, req, dst[:0])
		require.NoError(t, err)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		rmd.Header, rmd.Trailer = rmd.Header[:0], rmd.Trailer[:0]
		dst, err = k.Call(mctx, 1, req, dst[:0])
	})
	require.NoError(t, err)
	assert.Equal(t, "t=r;", mdString(rmd.Trailer))
	assert.Zero(t, allocs, "headers and trailers reuse the server's and the caller's buffers")
}

// A (safe) ctx kept past its handler can no longer set response
// metadata: typed error, nothing sent.
func TestSetHeaderAfterHandlerReturned(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	keep := make(chan context.Context, 1)
	srv.Handle(1, func(ctx context.Context, _, dst []byte) ([]byte, error) { keep <- ctx; return dst, nil }, rpc.Pooled)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	_, err = c.Call(testCtx(t), 1, nil, nil)
	require.NoError(t, err)
	ctx := <-keep
	require.ErrorIs(t, rpc.SetHeader(ctx, "k", nil), rpc.ErrNotHandlerContext)
	require.ErrorIs(t, rpc.SetTrailer(ctx, "k", nil), rpc.ErrNotHandlerContext)
}

// SendHeader sends a stream's header at once; later SetHeader calls are
// refused with ErrHeaderSent.
func TestStreamSendHeader(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.HandleStream(1, func(ctx context.Context, st *rpc.ServerStream) error {
		if err := rpc.SetHeader(ctx, "a", []byte("1")); err != nil {
			return err
		}
		if err := st.SendHeader(); err != nil {
			return err
		}
		if err := st.SendHeader(); err != rpc.ErrHeaderSent {
			return rpc.NewError(rpc.CodeInternal, "second SendHeader")
		}
		if err := rpc.SetHeader(ctx, "b", nil); err != rpc.ErrHeaderSent {
			return rpc.NewError(rpc.CodeInternal, "SetHeader after SendHeader")
		}
		return st.Send([]byte("m"))
	})
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	st, err := c.OpenStream(testCtx(t), 1, nil)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "a=1;", mdString(st.Header()))
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF)
	assert.Empty(t, st.Trailer())
}
