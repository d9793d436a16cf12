//go:build linux

package socket_test

// The socket-option tests read the options back with getsockopt, whose
// names (TCP_KEEPIDLE, TCP_INFO's backlog in tcpi_sacked) are Linux's.

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

func sockoptInt(t *testing.T, x any, level, opt int) int {
	t.Helper()
	rc, err := x.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	var v int
	var gerr error
	require.NoError(t, rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }))
	require.NoError(t, gerr)
	return v
}

func TestOptionNoDelayAndKeepAlive(t *testing.T) {
	accepted := make(chan *socket.Conn, 4)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor { accepted <- c; return nopReactor }, socket.Options{KeepAlive: 40 * time.Second})
	for _, tc := range []struct {
		name      string
		opts      socket.Options
		nodelay   int
		keepalive int
		idle      int
	}{
		{"defaults", socket.Options{}, 1, 1, 15},
		{"no nodelay, keepalive 30s", socket.Options{DisableNoDelay: true, KeepAlive: 30 * time.Second}, 0, 1, 30},
		{"keepalive off", socket.Options{KeepAlive: -1}, 1, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, tc.opts)
			require.NoError(t, err)
			defer c.Close()
			nc := c.NetConn()
			assert.Equal(t, tc.nodelay, sockoptInt(t, nc, unix.IPPROTO_TCP, unix.TCP_NODELAY))
			assert.Equal(t, tc.keepalive, sockoptInt(t, nc, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
			if tc.idle > 0 {
				assert.Equal(t, tc.idle, sockoptInt(t, nc, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE))
			}
			sc := <-accepted // the server side got the server's options
			assert.Equal(t, 1, sockoptInt(t, sc.NetConn(), unix.IPPROTO_TCP, unix.TCP_NODELAY))
			assert.Equal(t, 40, sockoptInt(t, sc.NetConn(), unix.IPPROTO_TCP, unix.TCP_KEEPIDLE))
		})
	}
}

func TestOptionBacklog(t *testing.T) {
	for _, backlog := range []int{7, 100} {
		ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{Backlog: backlog})
		require.NoError(t, err)
		rc, err := ln.Listeners()[0].(syscall.Conn).SyscallConn()
		require.NoError(t, err)
		var info *unix.TCPInfo
		require.NoError(t, rc.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }))
		require.NoError(t, err)
		// For a listening socket Linux reports the backlog in tcpi_sacked.
		assert.EqualValues(t, backlog, info.Sacked)
		require.NoError(t, ln.Close())
	}
}

func TestOptionReusePortAcceptLoops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{ReusePort: true, AcceptLoops: 3})
	require.NoError(t, err)
	lns := ln.Listeners()
	require.Len(t, lns, 3)
	for _, l := range lns {
		assert.Equal(t, ln.Addr().String(), l.Addr().String())
		assert.Equal(t, 1, sockoptInt(t, l, unix.SOL_SOCKET, unix.SO_REUSEPORT))
	}
	done := make(chan error)
	go func() { done <- socket.Serve(ctx, ln, echo, socket.Options{}) }()
	// Close two of the three sockets: the third one's accept loop still
	// serves, so Serve runs one loop per socket.
	require.NoError(t, lns[0].Close())
	require.NoError(t, lns[1].Close())
	for range 5 {
		col := newCollector(1)
		c, err := socket.Dial(ctx, "tcp", ln.Addr().String(), col, socket.Options{})
		require.NoError(t, err)
		require.NoError(t, c.Reply(frame.Header{}, []byte("x")))
		assert.Equal(t, "x", string(col.next(t)))
		require.NoError(t, c.Close())
	}
	cancel()
	require.NoError(t, <-done)
}
