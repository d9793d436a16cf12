package socket

import (
	"net"
	"syscall"

	"github.com/protosocket-go/protosocket/internal/netfd"
)

// applySockopts sets TCP_NODELAY and keepalive on a TCP connection (other
// connections are left alone).
func applySockopts(nc net.Conn, o *Options) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetNoDelay(!o.DisableNoDelay)
	if o.KeepAlive < 0 {
		_ = tc.SetKeepAlive(false)
		return
	}
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: o.KeepAlive, Interval: -1, Count: -1})
}

// listenControl sets SO_REUSEPORT (with ReusePort) before bind; where the
// platform lacks it (netfd.ErrUnsupported) Listen fails.
func listenControl(o *Options) func(network, address string, c syscall.RawConn) error {
	if !o.ReusePort {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = netfd.SetReusePort(fd)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// setBacklog calls listen(2) again on a listening socket: Linux (and the
// BSDs) then take the new backlog; elsewhere a Backlog fails Listen with
// netfd.ErrUnsupported.
func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok || backlog <= 0 {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = netfd.Listen(fd, backlog) }); err != nil {
		return err
	}
	return lerr
}
