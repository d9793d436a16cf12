package rpc_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// stalledPeer is a server that reads the client's first stream opening,
// grants it all the credit the protocol allows, and then stops reading:
// the client's writes back up until its stream's lane is full.
func stalledPeer(t *testing.T) (addr string, opened <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		fr := frame.NewReader(nc, frame.ReaderOptions{})
		for {
			f, err := fr.Next()
			if err != nil {
				return
			}
			if f.Header.Kind == wire.KindStreamOpen {
				b, err := frame.AppendFrame(nil, frame.Header{Kind: wire.KindCredit, Stream: f.Header.Stream, Type: f.Header.Type},
					wire.AppendCredit(nil, wire.MaxCredit))
				require.NoError(t, err)
				_, _ = nc.Write(b)
				close(ch)
				break
			}
		}
		<-stop // hold the connection without reading
	})
	t.Cleanup(func() { close(stop); _ = ln.Close(); wg.Wait() })
	return ln.Addr().String(), ch
}

// fillLane sends messages on st until its sends stop making progress (the
// peer stopped reading and the lane is full); the sender goroutine is left
// blocked, and ends when the connection closes.
func fillLane(t *testing.T, st *rpc.ClientStream, wg *sync.WaitGroup) {
	var sent atomic.Int64
	msg := make([]byte, 64<<10)
	wg.Go(func() {
		for st.Send(msg) == nil {
			sent.Add(1)
		}
	})
	last, still := int64(-1), 0
	for still < 5 {
		time.Sleep(50 * time.Millisecond)
		if n := sent.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
}

// TestStreamCloseBoundedWhenPeerStopsReading: Close sends a cancel frame
// on the stream's lane; when the peer stopped reading and the lane is
// full, Close waits at most ClientOptions.CancelWriteGrace for room, as a
// canceled unary call does not wait (before, it waited for room forever).
func TestStreamCloseBoundedWhenPeerStopsReading(t *testing.T) {
	addr, opened := stalledPeer(t)
	c := dial(t, addr, rpc.ClientOptions{CancelWriteGrace: 50 * time.Millisecond,
		Socket: socket.Options{QueueMessages: 4}})
	st, err := c.OpenStream(context.Background(), sBidi, nil)
	require.NoError(t, err)
	wait(t, opened)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.Close() // ends the blocked sender (and, before the fix, Close)
	fillLane(t, st, &wg)

	closed := make(chan struct{})
	wg.Go(func() { _ = st.Close(); close(closed) })
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("ClientStream.Close blocked on a full lane of a peer that stopped reading")
	}
	require.ErrorIs(t, st.Err(), rpc.ErrStreamClosed)
}

// TestStreamCloseDropsReceiveQueue: Close gives back what the stream's
// receive queue holds (messages the caller will never read, and their
// pooled buffers) at once, not when the ClientStream is collected
// (before, a closed stream kept them).
func TestStreamCloseDropsReceiveQueue(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{})
	for _, closeBy := range []string{"Close", "ctx"} {
		t.Run(closeBy, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			st, err := c.OpenStream(ctx, sBidi, nil)
			require.NoError(t, err)
			const small, big = 10, 5
			for range small {
				require.NoError(t, st.Send([]byte("small")))
			}
			for range big {
				require.NoError(t, st.Send(make([]byte, 4<<10))) // over the queue's inline size: a pooled buffer each
			}
			waitFor(t, "echoes queued", func() bool { return st.Buffered() == small+big })
			msgs, pooled := rpc.StreamQueueHeld(st)
			require.Equal(t, small+big, msgs)
			require.Equal(t, 1+big, pooled)
			if closeBy == "Close" {
				require.NoError(t, st.Close())
			} else {
				cancel()
				<-st.Done()
				waitFor(t, "the canceled stream released", func() bool { _, p := rpc.StreamQueueHeld(st); return p == 0 })
			}
			msgs, pooled = rpc.StreamQueueHeld(st)
			require.Zero(t, msgs, "messages held after the stream was released")
			require.Zero(t, pooled, "pooled buffers held after the stream was released")
			_ = st.Close()
		})
	}
}

// TestOpenStreamCtxEndsDuringOpen: a ctx that ends while OpenStream runs
// fires the stream's ctx watch (context.AfterFunc) at once, on another
// goroutine, possibly before OpenStream has stored the watch's stop
// function; the watch must not read it (a data race the race detector
// found in a CI-like run under load). Every stream ends with the ctx's
// error or is refused with it, and the connection goes on.
func TestOpenStreamCtxEndsDuringOpen(t *testing.T) {
	_, addr, _ := streamServer(t, rpc.ServerOptions{})
	c := dial(t, addr, rpc.ClientOptions{})
	for range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		st, err := c.OpenStream(ctx, sBidi, nil)
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
			continue
		}
		<-st.Done()
		require.ErrorIs(t, st.Err(), context.Canceled)
		require.NoError(t, st.Close())
	}
	st, err := c.OpenStream(testCtx(t), sBidi, nil)
	require.NoError(t, err)
	require.NoError(t, st.Send([]byte("still")))
	got, err := st.Recv(nil)
	require.NoError(t, err)
	require.Equal(t, "still", string(got))
	require.NoError(t, st.Close())
}
