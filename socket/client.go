package socket

import (
	"context"
	"crypto/tls"
	"net"
)

// Dial connects to addr on network ("tcp", "tcp4", "tcp6", "unix") within
// Options.ConnectTimeout (and ctx), runs the TLS handshake if Options.TLS is
// set (ServerName defaults to the host of addr), and returns the running
// Conn, whose inbound messages go to r. ctx bounds the connect only, not
// the connection's life.
func Dial(ctx context.Context, network, addr string, r Reactor, opts Options) (*Conn, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: -1}
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	applySockopts(nc, &opts)
	if opts.TLS != nil {
		cfg := opts.TLS
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg = cfg.Clone()
				cfg.ServerName = host
			}
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			if ctx.Err() != nil {
				return nil, ErrHandshakeTimeout
			}
			return nil, err
		}
		nc = tc
	}
	c := newConn(nc, sharedOptions(&opts), nil)
	c.reactor = r
	if l := opts.Logger; l != nil {
		logDialed(l, nc)
	}
	c.start()
	return c, nil
}
