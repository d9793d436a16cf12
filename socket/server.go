package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// NewReactor makes the Reactor of a new server connection. It sees the
// connection (c.RemoteAddr() is the peer) before any message is read; it
// may keep c to send on it. Returning nil rejects the connection.
type NewReactor func(c *Conn) Reactor

// Listener is a set of listening sockets made by Listen: one, or
// Options.AcceptLoops sharing a port with SO_REUSEPORT. It implements
// net.Listener over its first socket; Serve runs one accept loop on each.
type Listener struct {
	lns []net.Listener
}

// Listen opens the listening sockets for network ("tcp", "tcp4", "tcp6",
// "unix") and addr, with Options.ReusePort, AcceptLoops and Backlog
// applied. ctx bounds the setup only.
func Listen(ctx context.Context, network, addr string, opts Options) (*Listener, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	lc := net.ListenConfig{Control: listenControl(&opts), KeepAlive: -1}
	l := &Listener{}
	for i := range opts.AcceptLoops {
		ln, err := lc.Listen(ctx, network, addr)
		if err == nil {
			err = setBacklog(ln, opts.Backlog)
		}
		if err != nil {
			if ln != nil {
				_ = ln.Close()
			}
			_ = l.Close()
			return nil, fmt.Errorf("socket: listen %d of %d: %w", i+1, opts.AcceptLoops, err)
		}
		if i == 0 {
			addr = ln.Addr().String() // later sockets bind the same (resolved) port
		}
		l.lns = append(l.lns, ln)
	}
	return l, nil
}

// Accept accepts on the first socket (Serve uses all of them).
func (l *Listener) Accept() (net.Conn, error) { return l.lns[0].Accept() }

// Addr returns the address of the first socket (all share it).
func (l *Listener) Addr() net.Addr { return l.lns[0].Addr() }

// Close closes every socket.
func (l *Listener) Close() error {
	var errs []error
	for _, ln := range l.lns {
		errs = append(errs, ln.Close())
	}
	return errors.Join(errs...)
}

// Listeners returns the underlying sockets.
func (l *Listener) Listeners() []net.Listener { return l.lns }

// ListenerOf groups listening sockets into one Listener, so that one
// Serve runs an accept loop on each and applies its limits (MaxConns,
// MaxHandshakes) to all of them together. lns must not be empty.
func ListenerOf(lns ...net.Listener) *Listener { return &Listener{lns: lns} }

// server is the state of one Serve call.
type server struct {
	opts   *Options
	newR   NewReactor
	hs     chan struct{} // TLS handshake slots
	nconns atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[*Conn]struct{}

	accepted, rejected, acceptErrs atomic.Uint64
}

// Serve accepts connections on ln until ctx ends, running each as a Conn
// whose Reactor newReactor makes. A *Listener from Listen gets one accept
// loop per socket. Accept errors other than the listener being closed
// (EMFILE, ENFILE, ECONNABORTED...) are logged and retried with a backoff
// from 5 ms to 1 s; they never stop the server. When ctx ends Serve
// closes ln and every connection and returns nil once all their goroutines
// have stopped; if ln is closed by someone else it does the same and
// returns an error matching net.ErrClosed.
func Serve(ctx context.Context, ln net.Listener, newReactor NewReactor, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	opts.ensureServerDefaults()
	s := &server{opts: &opts, newR: newReactor, hs: make(chan struct{}, opts.MaxHandshakes), conns: make(map[*Conn]struct{})}
	lns := []net.Listener{ln}
	if l, ok := ln.(*Listener); ok {
		lns = l.lns
	}
	stop := context.AfterFunc(ctx, func() {
		for _, l := range lns {
			_ = l.Close()
		}
	})
	defer stop()
	errs := make([]error, len(lns))
	var loops sync.WaitGroup
	for i, l := range lns {
		loops.Go(func() { errs[i] = s.acceptLoop(ctx, l) })
	}
	loops.Wait()
	for _, l := range lns {
		_ = l.Close()
	}
	s.mu.Lock()
	all := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.abort(ErrClosed)
	}
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

func (s *server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("socket: accept: %w", err)
			}
			s.acceptErrs.Add(1)
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if l := s.opts.Logger; l != nil {
				l.Warn("socket: accept failed, retrying", "err", err, "backoff", backoff)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		s.handle(nc)
	}
}

func (s *server) handle(nc net.Conn) {
	if m := s.opts.MaxConns; m > 0 && s.nconns.Add(1) > int64(m) {
		s.nconns.Add(-1)
		s.rejected.Add(1)
		_ = nc.Close()
		if l := s.opts.Logger; l != nil {
			logRefused(l, nc, ErrTooManyConns)
		}
		return
	} else if m <= 0 {
		s.nconns.Add(1)
	}
	s.accepted.Add(1)
	applySockopts(nc, s.opts)
	if s.opts.TLS != nil {
		nc = tls.Server(nc, s.opts.TLS)
	}
	c := newConn(nc, s.opts, s)
	r := s.newR(c)
	if r == nil {
		s.nconns.Add(-1)
		_ = nc.Close()
		if l := s.opts.Logger; l != nil {
			logRefused(l, nc, ErrRefusedByReactor)
		}
		return
	}
	if l := s.opts.Logger; l != nil {
		logAccepted(l, nc)
	}
	c.reactor = r
	s.wg.Add(1)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.start()
}

func (s *server) connDone(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.nconns.Add(-1)
	s.wg.Done()
}
