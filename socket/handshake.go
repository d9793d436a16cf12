package socket

import (
	"context"
	"crypto/tls"
)

// The TLS handshake of a connection, run by its reader goroutine before
// it reads.

// handshake runs the TLS handshake of a *tls.Conn within HandshakeTimeout,
// holding a server's handshake slot. A server connection takes its slot
// only once the peer's first byte arrived (within FirstByteTimeout): a
// connection that never says hello holds no slot (see waitFirstByte).
func (c *Conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if c.srv != nil {
		if err := c.waitFirstByte(tc.NetConn()); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.HandshakeTimeout)
	defer cancel()
	if c.srv != nil {
		if err := c.takeHandshakeSlot(ctx); err != nil {
			return err
		}
		defer func() { <-c.srv.hs }()
	}
	if c.stopped.Load() { // a Drain's wake-up may have come before the handshake's deadline
		return ErrClosed
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil {
			return ErrHandshakeTimeout
		}
		return err
	}
	return nil
}

// takeHandshakeSlot waits for one of the server's MaxHandshakes slots
// until ctx ends (ErrHandshakeTimeout) or the connection stops (ErrClosed,
// woken by closeStop through readWake, as in waitUnfinished).
func (c *Conn) takeHandshakeSlot(ctx context.Context) error {
	if c.readWake == nil {
		c.readWake = make(chan struct{}, 1)
	}
	defer c.readBlocked.Store(false)
	for {
		c.readBlocked.Store(true)
		if c.stopped.Load() {
			return ErrClosed
		}
		select {
		case c.srv.hs <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ErrHandshakeTimeout
		case <-c.readWake: // stopped, or a spurious EndWork: look again
		}
	}
}
