package socket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Attacks by slow peers (issue 22, items 5 and 12), on loopback TCP.

// A peer that starts a frame and then sends a byte now and then is closed
// with ErrFrameTimeout once FrameTimeout has passed since it started the
// frame, though IdleTimeout is far away and bytes keep coming; a peer
// that sends whole frames, each split in slow pieces but none taking
// longer than FrameTimeout, is not closed (the timer is per frame).
func TestFrameTimeoutSlowDrip(t *testing.T) {
	const ft = 2 * time.Second
	closed := make(chan error, 2)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return closeRecorder{echo(nil), closed}
	}, socket.Options{FrameTimeout: ft, IdleTimeout: time.Minute})

	drip, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer drip.Close()
	hdr := frame.AppendHeader(nil, frame.Header{Length: 1000})
	start := time.Now()
	_, err = drip.Write(hdr)
	require.NoError(t, err)
	dripDone := make(chan struct{})
	go func() {
		defer close(dripDone)
		for range 200 { // at most 10 s of one byte per 50 ms
			time.Sleep(50 * time.Millisecond)
			if _, err := drip.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, socket.ErrFrameTimeout)
		assert.GreaterOrEqual(t, time.Since(start), ft, "not before the frame timer")
	case <-time.After(10 * time.Second):
		t.Fatal("a dripped frame did not time out")
	}
	<-dripDone

	// Whole frames, each in two halves FrameTimeout/8 apart, for longer
	// than FrameTimeout (10 frames): never closed, every echo comes back.
	// The margin (1.75 s: the test's writes may come late, never early)
	// is for a loaded machine.
	col := newCollector(16)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	nc := c.NetConn()
	for i := range 10 {
		f, err := frame.AppendFrame(nil, frame.Header{}, []byte{byte(i), 1, 2, 3, 4, 5})
		require.NoError(t, err)
		_, err = nc.Write(f[:4])
		require.NoError(t, err)
		time.Sleep(ft / 8)
		_, err = nc.Write(f[4:])
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i), 1, 2, 3, 4, 5}, col.next(t))
	}
	select {
	case err := <-closed:
		t.Fatalf("a well-paced peer was closed: %v", err)
	default:
	}
}

// The defaults: FrameTimeout everywhere, IdleTimeout and MaxConns on a
// server's connections; negative values turn them off.
func TestSlowPeerDefaults(t *testing.T) {
	conns := make(chan *socket.Conn, 2)
	for _, tc := range []struct {
		opts                   socket.Options
		idle, frame, firstByte time.Duration
		maxConns               int
	}{
		{socket.Options{}, socket.DefaultIdleTimeout, socket.DefaultFrameTimeout, socket.DefaultFirstByteTimeout, socket.DefaultMaxConns},
		{socket.Options{IdleTimeout: -1, FrameTimeout: -1, MaxConns: -1, FirstByteTimeout: -1}, -1, -1, -1, -1},
	} {
		addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor { conns <- c; return nopReactor }, tc.opts)
		c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
		require.NoError(t, err)
		sc := <-conns
		so := socket.ConnOptions(sc)
		assert.Equal(t, tc.idle, so.IdleTimeout)
		assert.Equal(t, tc.frame, so.FrameTimeout)
		assert.Equal(t, tc.maxConns, so.MaxConns)
		assert.Equal(t, tc.firstByte, so.FirstByteTimeout)
		co := socket.ConnOptions(c)
		assert.Equal(t, time.Duration(0), co.IdleTimeout, "a client has no idle timeout by default")
		assert.Equal(t, socket.DefaultFrameTimeout, co.FrameTimeout)
		require.NoError(t, c.Close())
	}
}

// TLS slowloris: connections that never send a byte hold no handshake
// slot, so with every slot's worth of them open (and more), a real client
// still completes its handshake, and each silent one is closed with
// ErrHandshakeTimeout after FirstByteTimeout.
func TestTLSSilentConnsHoldNoSlot(t *testing.T) {
	scfg, ccfg := tlsConfigs(t)
	const slots, silent = 4, 40
	closed := make(chan error, silent+1)
	accepted := make(chan *socket.Conn, silent+1)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
		accepted <- c
		return closeRecorder{nopReactor, closed}
	}, socket.Options{TLS: scfg, MaxHandshakes: slots, HandshakeTimeout: 5 * time.Second, FirstByteTimeout: 3 * time.Second})
	var quiet []net.Conn
	for range silent {
		nc, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		defer nc.Close()
		quiet = append(quiet, nc)
	}
	var sc *socket.Conn
	for range silent {
		sc = <-accepted
	}
	time.Sleep(50 * time.Millisecond) // their readers are waiting (ordering only)
	assert.Zero(t, socket.HandshakeSlotsTaken(sc), "silent connections hold no handshake slot")
	// Were the slots held by the silent connections the dial would get one
	// only once they were closed (FirstByteTimeout, 3 s): it must finish
	// with all of them still open. (A bound on the dial alone, under
	// FirstByteTimeout, would fail a handshake slowed by a loaded machine.)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{TLS: ccfg, ConnectTimeout: 10 * time.Second})
	require.NoError(t, err, "a real client gets a handshake slot")
	assert.Empty(t, closed, "the real client's handshake did not wait for a silent connection's end")
	require.NoError(t, c.Close())
	// Each silent connection is closed by the server: its peer reads EOF.
	for _, nc := range quiet {
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := nc.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF)
	}
	timeouts := 0
	for range silent + 1 { // and the real client's
		select {
		case err := <-closed:
			if errors.Is(err, socket.ErrHandshakeTimeout) {
				timeouts++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a connection did not close")
		}
	}
	assert.Equal(t, silent, timeouts)
}
