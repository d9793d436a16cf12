package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// SendMany both ways through the batched echo, with a window of 4 on
// both sides: every SendMany of up to 300 messages waits for credit
// many times, and every message comes back once, in order, intact
// (sizes 0 to 2 KiB: inline and pooled queue entries).
func TestStreamSendMany(t *testing.T) {
	addr := batchEchoServer(t, rpc.ServerOptions{StreamWindow: 4})
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 4})
	st, err := c.OpenStream(testCtx(t), sBatchEcho, nil)
	require.NoError(t, err)
	defer st.Close()
	msg := func(i int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("%06d;", i)), (i*37)%300)
	}
	next := 0
	done := make(chan error, 1)
	go func() {
		for _, n := range []int{1, 0, 7, 300, 64, 3, 150} {
			msgs := make([][]byte, n)
			for i := range msgs {
				msgs[i] = msg(next)
				next++
			}
			k, err := st.SendMany(msgs)
			if err != nil || k != n {
				done <- fmt.Errorf("SendMany(%d) = %d, %v", n, k, err)
				return
			}
		}
		done <- nil
	}()
	var buf []byte
	for i := range 525 {
		buf, err = st.Recv(buf[:0])
		require.NoError(t, err)
		require.Equal(t, string(msg(i)), string(buf), "message %d", i)
	}
	require.NoError(t, <-done)
	assert.Zero(t, st.Buffered())
}

// A message over the maximum frame size fails SendMany with
// CodeResourceExhausted after the messages before it were queued; the
// credit taken for the rest is given back, so the stream goes on.
func TestStreamSendManyTooLarge(t *testing.T) {
	addr := batchEchoServer(t, rpc.ServerOptions{StreamWindow: 8})
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 8, Socket: socket.Options{MaxFrameSize: 1 << 10}})
	st, err := c.OpenStream(testCtx(t), sBatchEcho, nil)
	require.NoError(t, err)
	defer st.Close()
	small := []byte("ok")
	k, err := st.SendMany([][]byte{small, small, make([]byte, 2<<10), small})
	assert.Equal(t, 2, k, "the two before the large one are queued")
	var e *rpc.Error
	require.True(t, errors.As(err, &e), "err %v", err)
	assert.Equal(t, rpc.CodeResourceExhausted, e.Code)
	// 8 more: only possible if the credit for the 2 unsent came back.
	msgs := make([][]byte, 8)
	for i := range msgs {
		msgs[i] = small
	}
	for range 3 {
		k, err = st.SendMany(msgs)
		require.NoError(t, err)
		require.Equal(t, 8, k)
		for range 8 {
			_, err = st.Recv(nil)
			require.NoError(t, err)
		}
	}
	for range 2 {
		_, err = st.Recv(nil)
		require.NoError(t, err)
	}
}

// SendMany on an ended stream fails at once with the stream's error.
func TestStreamSendManyAfterClose(t *testing.T) {
	addr := batchEchoServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(testCtx(t), sBatchEcho, nil)
	require.NoError(t, err)
	require.NoError(t, st.CloseSend())
	k, err := st.SendMany([][]byte{[]byte("x")})
	assert.Zero(t, k)
	assert.ErrorIs(t, err, rpc.ErrStreamClosed)
	st.Close()
}

// No allocation per pipelined batch of 32 messages through SendMany both
// ways, client plus server.
func TestStreamSendManyAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	addr := batchEchoServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(context.Background(), sBatchEcho, nil)
	require.NoError(t, err)
	defer st.Close()
	msgs := make([][]byte, 32)
	for i := range msgs {
		msgs[i] = make([]byte, 16)
	}
	buf := make([]byte, 0, 16)
	round := func() {
		_, _ = st.SendMany(msgs)
		for range msgs {
			buf, _ = st.Recv(buf[:0])
		}
	}
	for range 100 {
		round()
	}
	allocs := testing.AllocsPerRun(200, round)
	assert.Zero(t, allocs, "allocations per 32 pipelined messages sent with SendMany, client plus server")
}

// The same with a window of 256 on both sides and 256 messages in flight
// (psbench -scenario pipelined -concurrency 256): a queue that fills with
// 256 small messages and empties keeps its byte slice (keepFor), where it
// gave it back to the pool and grew a new one (0.02-0.06 allocations per
// message in rpcbench -stream-inflight 256). Per message sent and
// received.
func TestStreamAllocsWindow256(t *testing.T) {
	testenv.SkipIfRace(t)
	addr := batchEchoServer(t, rpc.ServerOptions{StreamWindow: 256})
	c := dial(t, addr, rpc.ClientOptions{StreamWindow: 256})
	st, err := c.OpenStream(context.Background(), sBatchEcho, nil)
	require.NoError(t, err)
	defer st.Close()
	msg := make([]byte, 16)
	buf := make([]byte, 0, 16)
	round := func() {
		for range 256 {
			_ = st.Send(msg)
		}
		for range 256 {
			buf, _ = st.Recv(buf[:0])
		}
	}
	for range 50 {
		round()
	}
	allocs := testing.AllocsPerRun(100, round)
	assert.Less(t, allocs/256, 0.001, "%.1f allocations per 256 pipelined stream messages, client plus server", allocs)
}
