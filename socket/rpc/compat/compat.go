package compat

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Control is the control code carried in every message.
type Control uint32

// Control codes, as in protosocket-rpc.
const (
	// Normal: a request, or a (non-final) response.
	Normal Control = 0
	// Cancel: the client abandons the call with this id.
	Cancel Control = 1
	// End: the last message of a call (the end of a response stream).
	End Control = 2
)

// Errors.
var (
	// ErrClosed: the connection closed before the response arrived.
	ErrClosed = errors.New("compat: connection closed")
	// ErrDuplicateID: the server got a request whose id is in flight; it
	// is dropped.
	ErrDuplicateID = errors.New("compat: duplicate request id")
)

// Codec encodes and parses the user's message type M and reaches its id
// and control fields.
type Codec[M any] interface {
	// Append appends the encoding of m to dst.
	Append(dst []byte, m *M) ([]byte, error)
	// Parse decodes b into m (b is valid only during the call: copy).
	Parse(b []byte, m *M) error
	ID(m *M) uint64
	SetID(m *M, id uint64)
	Control(m *M) Control
	SetControl(m *M, c Control)
}

// Options configures a compat Server or Client. Socket.Framing nil means
// frame.Varint (protobuf's length-delimited stream).
type Options struct {
	Socket socket.Options
}

func (o Options) socketOpts() socket.Options {
	so := o.Socket
	if so.Framing == nil {
		so.Framing = frame.Varint
	}
	return so
}

// Handler serves one request: it fills resp (the server sets resp's id
// and control to the request's id and Normal). ctx is canceled when the
// client sends Cancel for the id or the connection closes.
type Handler[Req, Resp any] func(ctx context.Context, req *Req, resp *Resp) error

// Server serves a Handler to protosocket-rpc style clients.
type Server[Req, Resp any] struct {
	req  Codec[Req]
	resp Codec[Resp]
	h    Handler[Req, Resp]
	opts socket.Options
}

// NewServer returns a Server.
func NewServer[Req, Resp any](req Codec[Req], resp Codec[Resp], h Handler[Req, Resp], opts Options) *Server[Req, Resp] {
	return &Server[Req, Resp]{req: req, resp: resp, h: h, opts: opts.socketOpts()}
}

// Serve serves ln until ctx ends (see socket.Serve). Calls run on their
// own goroutines; at socket.Options.MaxUnfinished calls in flight the
// connection stops reading (TCP pushes back on the client).
func (s *Server[Req, Resp]) Serve(ctx context.Context, ln net.Listener) error {
	return socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
		return &serverConn[Req, Resp]{s: s, calls: map[uint64]context.CancelFunc{}}
	}, s.opts)
}

type serverConn[Req, Resp any] struct {
	s     *Server[Req, Resp]
	mu    sync.Mutex
	calls map[uint64]context.CancelFunc
	wg    sync.WaitGroup
	snd   *socket.Sender // the calls' responses, made on the first; guarded by mu
}

// sender returns the Sender the calls' responses share (a response is one
// message, so one lane keeps nothing out of order), made on first use.
func (sc *serverConn[Req, Resp]) sender(c *socket.Conn) *socket.Sender {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.snd == nil {
		sc.snd = c.NewSender(nil)
	}
	return sc.snd
}

func (sc *serverConn[Req, Resp]) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	s := sc.s
	req := new(Req)
	if err := s.req.Parse(m.Payload, req); err != nil {
		return socket.Disconnect // not a message of this protocol
	}
	id := s.req.ID(req)
	switch s.req.Control(req) {
	case Cancel:
		sc.mu.Lock()
		if cancel := sc.calls[id]; cancel != nil {
			cancel()
		}
		sc.mu.Unlock()
		return socket.Continue
	case Normal:
	default:
		return socket.Continue // End from a client: nothing to do for unary calls
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc.mu.Lock()
	if _, dup := sc.calls[id]; dup {
		sc.mu.Unlock()
		cancel()
		return socket.Continue // dropped: the call in flight keeps the id
	}
	sc.calls[id] = cancel
	sc.mu.Unlock()
	c.BeginWork()
	sc.wg.Go(func() {
		defer c.EndWork()
		defer func() {
			sc.mu.Lock()
			delete(sc.calls, id)
			sc.mu.Unlock()
			cancel()
		}()
		resp := new(Resp)
		if err := s.h(ctx, req, resp); err != nil || ctx.Err() != nil {
			return // canceled or failed: protosocket-rpc has no error message
		}
		s.resp.SetID(resp, id)
		s.resp.SetControl(resp, Normal)
		b, err := s.resp.Append(nil, resp)
		if err != nil {
			return
		}
		_ = sc.sender(c).Send(context.Background(), frame.Header{}, b)
	})
	return socket.Continue
}

// OnClose cancels the calls in flight and waits for them.
func (sc *serverConn[Req, Resp]) OnClose(c *socket.Conn, err error) {
	sc.mu.Lock()
	for _, cancel := range sc.calls {
		cancel()
	}
	sc.mu.Unlock()
	sc.wg.Wait()
	if sc.snd != nil {
		sc.snd.Close()
	}
}

// Client calls a protosocket-rpc style server.
type Client[Req, Resp any] struct {
	req     Codec[Req]
	resp    Codec[Resp]
	conn    *socket.Conn
	snd     *socket.Sender
	mu      sync.Mutex
	pending map[uint64]chan *Resp
	nextID  atomic.Uint64
	closed  bool
}

// Dial connects a Client to addr.
func Dial[Req, Resp any](ctx context.Context, network, addr string, req Codec[Req], resp Codec[Resp], opts Options) (*Client[Req, Resp], error) {
	cl := &Client[Req, Resp]{req: req, resp: resp, pending: map[uint64]chan *Resp{}}
	conn, err := socket.Dial(ctx, network, addr, cl, opts.socketOpts())
	if err != nil {
		return nil, err
	}
	cl.conn = conn
	cl.snd = conn.NewSender(nil)
	return cl, nil
}

// Call sends req (its id and control are set here) and waits for the
// response with the same id. When ctx ends a Cancel message with the id
// follows the request on the same lane, and ctx's error is returned.
func (cl *Client[Req, Resp]) Call(ctx context.Context, req *Req) (*Resp, error) {
	id := cl.nextID.Add(1)
	ch := make(chan *Resp, 1)
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, ErrClosed
	}
	cl.pending[id] = ch
	cl.mu.Unlock()
	cl.req.SetID(req, id)
	cl.req.SetControl(req, Normal)
	b, err := cl.req.Append(nil, req)
	if err == nil {
		err = cl.snd.Send(ctx, frame.Header{}, b)
	}
	if err != nil {
		cl.forget(id)
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		return r, nil
	case <-ctx.Done():
		cl.forget(id)
		cl.req.SetControl(req, Cancel)
		if b, err := cl.req.Append(b[:0], req); err == nil {
			_ = cl.snd.Send(context.Background(), frame.Header{}, b)
		}
		return nil, ctx.Err()
	}
}

func (cl *Client[Req, Resp]) forget(id uint64) {
	cl.mu.Lock()
	delete(cl.pending, id)
	cl.mu.Unlock()
}

// OnMessage implements socket.Reactor: responses complete their calls;
// unknown ids (late replies) are ignored.
func (cl *Client[Req, Resp]) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	r := new(Resp)
	if err := cl.resp.Parse(m.Payload, r); err != nil {
		return socket.Disconnect
	}
	id := cl.resp.ID(r)
	cl.mu.Lock()
	ch := cl.pending[id]
	delete(cl.pending, id)
	cl.mu.Unlock()
	if ch != nil {
		ch <- r
	}
	return socket.Continue
}

// OnClose ends every pending call with ErrClosed.
func (cl *Client[Req, Resp]) OnClose(c *socket.Conn, err error) {
	cl.mu.Lock()
	cl.closed = true
	for id, ch := range cl.pending {
		close(ch)
		delete(cl.pending, id)
	}
	cl.mu.Unlock()
}

// Close closes the connection; pending calls end with ErrClosed.
func (cl *Client[Req, Resp]) Close() error {
	cl.snd.Close()
	return cl.conn.Close()
}
