package socket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// TestHalfClosingPeer: a peer sends n requests and half-closes (shutdown
// of its write side) while it keeps reading. The server delivers every
// request, ends the connection with io.EOF, and every reply is either
// read by the peer or reported to the server's failure callback; none is
// delivered twice or lost silently. Replies that fit the reader's own
// batch are all written before the close.
func TestHalfClosingPeer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		allSent bool // every reply must reach the peer
	}{
		{"one request", 1, true},
		{"fifty requests", 50, true},
		{"five thousand requests", 5000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			failed := map[uint32]int{}
			closed := make(chan error, 1)
			var handled atomic.Int64
			opts := socket.Options{OnSendFailure: func(f socket.Failure) {
				assert.ErrorIs(t, f.Err, socket.ErrClosed)
				mu.Lock()
				failed[f.Header.Stream]++
				mu.Unlock()
			}}
			addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
				return closeRecorder{socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					handled.Add(1)
					if err := c.Reply(m.Header, m.Payload); err != nil {
						assert.ErrorIs(t, err, socket.ErrClosed)
					}
					return socket.Continue
				}), closed}
			}, opts)
			nc, err := net.Dial("tcp", addr.String())
			require.NoError(t, err)
			defer nc.Close()
			require.NoError(t, nc.SetDeadline(time.Now().Add(20*time.Second)))

			// Read replies while writing: the server's replies must not
			// stall on a peer that is still sending.
			received := map[uint32]int{}
			readErr := make(chan error, 1)
			go func() {
				fr := frame.NewReader(nc, frame.ReaderOptions{})
				defer fr.Close()
				for {
					f, err := fr.Next()
					if err != nil {
						readErr <- err
						return
					}
					assert.Equal(t, "request", string(f.Payload))
					received[f.Header.Stream]++
				}
			}()
			var wire []byte
			for i := range tc.n {
				wire, err = frame.AppendFrame(wire, frame.Header{Stream: uint32(i)}, []byte("request"))
				require.NoError(t, err)
			}
			_, err = nc.Write(wire)
			require.NoError(t, err)
			require.NoError(t, nc.(*net.TCPConn).CloseWrite())

			select {
			case err := <-closed:
				assert.ErrorIs(t, err, socket.ErrClosed)
				assert.ErrorIs(t, err, io.EOF, "the half-close ends the connection as a clean EOF")
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not end the half-closed connection")
			}
			rerr := <-readErr
			if tc.allSent {
				assert.ErrorIs(t, rerr, io.EOF, "the peer reads every reply and then a clean end")
			} else {
				require.False(t, errors.Is(rerr, os.ErrDeadlineExceeded), "the server never closed its side")
			}
			assert.EqualValues(t, tc.n, handled.Load(), "every request before the half-close was delivered")

			mu.Lock()
			defer mu.Unlock()
			var lost, twice, both int
			for i := range uint32(tc.n) {
				r, f := received[i], failed[i]
				switch {
				case r == 0 && f == 0:
					lost++
				case r > 1 || f > 1:
					twice++
				case r == 1 && f == 1:
					both++
				}
			}
			t.Logf("%d requests: %d replies read by the peer, %d reported failed, %d both", tc.n, len(received), len(failed), both)
			assert.Zero(t, lost, "replies neither read nor reported failed")
			assert.Zero(t, twice, "replies read or reported more than once")
			assert.Zero(t, both, "replies both read by the peer and reported failed")
			if tc.allSent {
				assert.Len(t, received, tc.n)
				assert.Empty(t, failed)
			}
		})
	}
}

// TestPeerNeverReadsOthersUnaffected: one client floods an echo server
// and never reads the replies. The server's outbound queue for it stays
// within QueueBytes, the replies are held back (the server stops reading
// and TCP pushes back on the flooder; under FailWhenFull the server may
// instead keep reading and refuse replies with ErrBackpressure), the heap
// stays bounded, and another client on the same server is served
// meanwhile.
func TestPeerNeverReadsOthersUnaffected(t *testing.T) {
	const (
		queueBytes = 64 << 10
		size       = 1024
		maxFrames  = 128 << 10 // 128 MiB: beyond any socket buffers (Linux autotunes up to 32 MiB) plus the queue
	)
	for _, tc := range []struct {
		name         string
		failWhenFull bool
	}{{"blocking", false}, {"fail when full", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int64
			serverConns := make(chan *socket.Conn, 2)
			opts := socket.Options{QueueBytes: queueBytes, WriteBatchBytes: 16 << 10, FailWhenFull: tc.failWhenFull}
			addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
				serverConns <- c
				return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					err := c.Reply(m.Header, m.Payload)
					switch {
					case err == nil:
					case errors.Is(err, socket.ErrBackpressure):
						refused.Add(1)
					default:
						assert.ErrorIs(t, err, socket.ErrClosed)
						return socket.Disconnect
					}
					return socket.Continue
				})
			}, opts)

			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)

			flood, err := net.Dial("tcp", addr.String())
			require.NoError(t, err)
			defer flood.Close()
			var stuck *socket.Conn
			select {
			case stuck = <-serverConns:
			case <-time.After(10 * time.Second):
				t.Fatal("flooding client not accepted")
			}
			frameBytes := mustFrame(t, frame.Header{}, make([]byte, size))
			// Flood until a write makes no progress for 300 ms and then,
			// to tell a stall from a slow machine, for 2 s more.
			written, stalled, confirming := 0, false, false
			rest := frameBytes
			for written < maxFrames && !stalled {
				wait := 300 * time.Millisecond
				if confirming {
					wait = 2 * time.Second
				}
				require.NoError(t, flood.SetWriteDeadline(time.Now().Add(wait)))
				n, err := flood.Write(rest)
				if err != nil {
					require.ErrorIs(t, err, os.ErrDeadlineExceeded)
					rest = rest[n:] // finish this frame first
					stalled, confirming = confirming, true
					continue
				}
				written, confirming, rest = written+1, false, frameBytes
			}
			if stalled {
				// The server stopped reading (its reader waits for room in
				// the queue, or writes its own replies and waits for the
				// socket): TCP pushes back on the flooder.
				assert.Less(t, stuck.Stats().FramesIn, uint64(written), "the server stopped reading")
			} else {
				// Only with FailWhenFull may the server keep reading: then it
				// reads everything and refuses the replies that do not fit.
				require.True(t, tc.failWhenFull, "the flooder was never pushed back (%d frames)", written)
				require.Eventually(t, func() bool { return stuck.Stats().FramesIn == uint64(written) }, 10*time.Second, time.Millisecond,
					"the server reads everything; read %d of %d", stuck.Stats().FramesIn, written)
				assert.Positive(t, refused.Load(), "replies were refused with ErrBackpressure")
			}
			if !tc.failWhenFull {
				assert.Zero(t, refused.Load(), "Reply blocks, never refuses, without FailWhenFull")
			}

			// Another client is served while the flooder is stuck.
			col := newCollector(100)
			other, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
			require.NoError(t, err)
			s := other.NewSender(nil)
			for i := range 100 {
				require.NoError(t, s.Send(context.Background(), frame.Header{Stream: uint32(i)}, []byte("other")))
			}
			for range 100 {
				assert.Equal(t, "other", string(col.next(t)))
			}
			s.Close()
			require.NoError(t, other.Close())

			runtime.GC()
			runtime.ReadMemStats(&ms1)
			st := stuck.Stats()
			growth := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)
			t.Logf("flooder wrote %d frames (stalled %v); server read %d, wrote %d, queued %d, refused %d; heap growth %d KiB",
				written, stalled, st.FramesIn, st.FramesOut, st.QueueDepth, refused.Load(), growth>>10)
			assert.LessOrEqual(t, st.QueueDepth*size, int64(queueBytes+size), "the queue stays within QueueBytes")
			assert.Less(t, growth, int64(4<<20), "Go memory stays bounded")

			// The flooder goes away: the stuck server connection ends.
			require.NoError(t, flood.Close())
			select {
			case <-stuck.Closed():
				assert.ErrorIs(t, stuck.Err(), socket.ErrClosed)
			case <-time.After(10 * time.Second):
				t.Fatal("the stuck server connection did not end with its peer")
			}
		})
	}
}

// TestRetainAfterCallbackPanicsWithMessage: under the psdebug tag a
// reactor that keeps a Message past OnMessage and calls Retain late is
// stopped by a panic whose message names the mistake.
func TestRetainAfterCallbackPanicsWithMessage(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	got := make(chan socket.Message, 2)
	srv := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		srv <- sc
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			got <- m // a bug: m is only valid until OnMessage returns
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("kept too long")))
	first := <-got
	// The next read takes a fresh slab and releases the first one.
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("next")))
	<-got
	assert.True(t, pool.Poisoned(first.Payload), "the kept view reads as poison")
	var msg any
	func() {
		defer func() { msg = recover() }()
		first.Retain()
	}()
	require.Equal(t, pool.MsgRetainAfterRelease, msg)
	assert.True(t, strings.Contains(msg.(string), "kept past its callback"), "the panic names the mistake: %v", msg)
	assert.Zero(t, (<-srv).Stats().Unfinished, "the failed Retain counted nothing")
}
