package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

const (
	sServer uint32 = iota + 100 // server streaming: N messages for request "N"
	sClient                     // client streaming: sum of all messages
	sBidi                       // bidirectional echo
	sFail                       // fails after reading one message
	sHold                       // sends until canceled, reports ctx error
)

func streamServer(t *testing.T, opts rpc.ServerOptions) (*rpc.Server, string, chan error) {
	srv, err := rpc.NewServer(opts)
	require.NoError(t, err)
	held := make(chan error, 4)
	srv.HandleStream(sServer, func(ctx context.Context, st *rpc.ServerStream) error {
		req, err := st.Recv(nil)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(req))
		if err != nil {
			return rpc.NewError(rpc.CodeInvalidArgument, "not a number")
		}
		for i := range n {
			if err := st.Send([]byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		return nil
	})
	srv.HandleStream(sClient, func(ctx context.Context, st *rpc.ServerStream) error {
		sum := 0
		var buf []byte
		for {
			var err error
			buf, err = st.Recv(buf[:0])
			if errors.Is(err, io.EOF) {
				return st.Send([]byte(strconv.Itoa(sum)))
			}
			if err != nil {
				return err
			}
			v, _ := strconv.Atoi(string(buf))
			sum += v
		}
	})
	srv.HandleStream(sBidi, func(ctx context.Context, st *rpc.ServerStream) error {
		var buf []byte
		for {
			var err error
			buf, err = st.Recv(buf[:0])
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := st.Send(buf); err != nil {
				return err
			}
		}
	})
	srv.HandleStream(sFail, func(ctx context.Context, st *rpc.ServerStream) error {
		_, _ = st.Recv(nil)
		return rpc.NewError(rpc.CodeAppMin, "no")
	})
	srv.HandleStream(sHold, func(ctx context.Context, st *rpc.ServerStream) error {
		for {
			if err := st.Send([]byte("x")); err != nil {
				held <- ctx.Err()
				return err
			}
		}
	})
	return srv, serve(t, srv), held
}

func TestServerStreaming(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 4})
	st, err := c.OpenStream(testCtx(t), sServer, nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Send([]byte("100")))
	require.NoError(t, st.CloseSend())
	var buf []byte
	for i := range 100 {
		buf, err = st.Recv(buf[:0])
		require.NoError(t, err, "message %d, %+v", i, c.Conn().Stats())
		require.Equal(t, strconv.Itoa(i), string(buf))
	}
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF, "a normal end is io.EOF")
}

func TestClientStreaming(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{StreamWindow: 2})
	c := dial(t, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(testCtx(t), sClient, nil)
	require.NoError(t, err)
	defer st.Close()
	for i := 1; i <= 50; i++ { // far more than the window of 2: credit must flow
		require.NoError(t, st.Send([]byte(strconv.Itoa(i))))
	}
	require.NoError(t, st.CloseSend())
	got, err := st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "1275", string(got))
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF)
	assert.ErrorIs(t, st.Send([]byte("late")), rpc.ErrStreamClosed)
}

func TestBidiStreaming(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{StreamWindow: 3})
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 3})
	st, err := c.OpenStream(testCtx(t), sBidi, nil)
	require.NoError(t, err)
	defer st.Close()
	const n = 200
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if err := st.Send([]byte(fmt.Sprint(i))); err != nil {
				errc <- err
				return
			}
		}
		errc <- st.CloseSend()
	}()
	var buf []byte
	for i := range n {
		buf, err = st.Recv(buf[:0])
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(buf))
	}
	require.NoError(t, <-errc)
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF)
}

func TestStreamServerError(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{})
	for _, tc := range []struct {
		method uint32
		send   string
		want   error
	}{
		{sFail, "a", rpc.ErrApplication},
		{sServer, "nan", rpc.ErrInvalidArgument},
		{999, "", rpc.ErrUnimplemented},
		{mEcho, "", rpc.ErrUnimplemented}, // unary method opened as a stream
	} {
		st, err := c.OpenStream(testCtx(t), tc.method, nil)
		require.NoError(t, err)
		_ = st.Send([]byte(tc.send))
		_, err = st.Recv(nil)
		require.ErrorIs(t, err, tc.want, "server rejection is an *Error, not io.EOF")
		st.Close()
	}
}

func TestStreamCreditBoundsQueue(t *testing.T) {
	// The client does not read: the server may send only the window.
	srv, addr, held := streamServer(t, rpc.ServerOptions{})
	_ = srv
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 8})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.OpenStream(ctx, sHold, nil)
	require.NoError(t, err)
	// One credit frame plus the 8 messages of the window arrive...
	require.Eventually(t, func() bool { return c.Conn().Stats().FramesIn >= 9 }, 10*time.Second, time.Millisecond)
	// ...and no more, however long the server keeps trying.
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, uint64(9), c.Conn().Stats().FramesIn, "server sent past its credit")
	var buf []byte
	for range 3 { // fewer than window/2: no credit goes back yet
		buf, err = st.Recv(buf[:0])
		require.NoError(t, err)
		assert.Equal(t, "x", string(buf))
	}
	// Cancel: the handler's Send fails and its context is canceled.
	cancel()
	select {
	case err := <-held:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("server stream handler not canceled")
	}
	for err == nil { // what was queued is still delivered, then the end
		_, err = st.Recv(nil)
	}
	require.ErrorIs(t, err, context.Canceled)
	st.Close()
}
