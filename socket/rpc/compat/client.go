package compat

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// Client calls a protosocket-rpc server. Its methods are safe for
// concurrent use.
type Client[Req, Resp any] struct {
	req     Codec[Req]
	resp    Codec[Resp]
	conn    *socket.Conn
	snd     *socket.Sender
	ctx     context.Context // ends when the connection closes
	stop    context.CancelFunc
	scratch Resp // the reader's, for codecs without Peeker
	shut    chan struct{}
	shutOne sync.Once
	ignored atomic.Uint64

	mu      sync.Mutex
	pending callTable[ccall[Req, Resp]]
	closed  bool
	calls   sync.Pool // *ccall, reused by unary calls
}

// ccall is one call in flight: a unary call (resp is the caller's
// message, done gets the outcome) or a stream.
type ccall[Req, Resp any] struct {
	resp   *Resp
	done   chan error
	stream *ClientStream[Req, Resp]
}

// Dial connects a Client to addr.
func Dial[Req, Resp any](ctx context.Context, network, addr string, req Codec[Req], resp Codec[Resp], opts Options) (*Client[Req, Resp], error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cl := &Client[Req, Resp]{req: req, resp: resp, shut: make(chan struct{})}
	cl.ctx, cl.stop = context.WithCancel(context.Background())
	conn, err := socket.Dial(ctx, network, addr, cl, opts.socketOpts())
	if err != nil {
		cl.stop()
		return nil, err
	}
	cl.conn = conn
	cl.snd = conn.NewSender(nil)
	return cl, nil
}

// Ignored returns the number of messages for ids with no call in flight
// (late replies after a cancel, items after End, Cancels for unknown ids),
// which are dropped as protosocket-rpc drops them.
func (cl *Client[Req, Resp]) Ignored() uint64 { return cl.ignored.Load() }

// Call makes a unary call: it sends req (its id and control are set here)
// and decodes the response into resp. A Cancel from the server ends it
// with ErrCancelledRemotely, an End with no response with ErrNoResponse.
// When ctx ends first, Call sends a Cancel (id and code only), frees the
// id at once and returns ctx's error; it waits for nothing from the server,
// as a protosocket-rpc client does. resp is the caller's again when Call
// returns, whatever the outcome.
func (cl *Client[Req, Resp]) Call(ctx context.Context, req *Req, resp *Resp) error {
	c, _ := cl.calls.Get().(*ccall[Req, Resp])
	if c == nil {
		c = &ccall[Req, Resp]{done: make(chan error, 1)}
	}
	c.resp = resp
	id, err := cl.open(ctx, c, req)
	if err != nil {
		cl.recycle(c)
		return err
	}
	done := ctx.Done()
	if done == nil { // a context that never ends: a plain receive is cheaper than a select
		err = <-c.done
		cl.recycle(c)
		return err
	}
	select {
	case err = <-c.done:
	case <-done:
		if cl.abandon(id, c) {
			cl.sendCancel(id)
			err = ctx.Err()
		} else {
			err = <-c.done // the reader has the reply in hand: it is the answer
		}
	}
	cl.recycle(c)
	return err
}

func (cl *Client[Req, Resp]) recycle(c *ccall[Req, Resp]) {
	c.resp = nil
	cl.calls.Put(c)
}

// open registers c under a new id and sends req.
func (cl *Client[Req, Resp]) open(ctx context.Context, c *ccall[Req, Resp], req *Req) (uint64, error) {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return 0, ErrClosed
	}
	id := cl.pending.add(c)
	cl.mu.Unlock()
	cl.req.SetID(req, id)
	cl.req.SetControl(req, Normal)
	buf := pool.GetBuffer()
	b, err := cl.req.Append(buf.B[:0], req)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrEncode, err)
	} else {
		err = cl.snd.Send(ctx, frame.Header{}, b) // copied
	}
	buf.B = b[:0]
	pool.PutBuffer(buf)
	if err != nil {
		if !cl.abandon(id, c) {
			<-c.done // a reply for an id we never sent: drop it
		}
		return 0, err
	}
	return id, nil
}

// abandon removes c from the calls in flight; false means the reader took
// it first and is completing it.
func (cl *Client[Req, Resp]) abandon(id uint64, c *ccall[Req, Resp]) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.pending.remove(id, c)
}

// sendCancel sends the minimal Cancel for id (best effort: it gives up
// when the connection closes).
func (cl *Client[Req, Resp]) sendCancel(id uint64) {
	b, err := appendControl(cl.req, nil, id, Cancel)
	if err == nil {
		_ = cl.snd.Send(cl.ctx, frame.Header{}, b)
	}
}

// Stream starts a streaming call: the server answers with items, then
// End. ctx bounds the whole stream: when it ends, Cancel is sent at once
// (whether or not Recv is waiting) and Recv returns ctx's error. Close the
// stream when done with it.
func (cl *Client[Req, Resp]) Stream(ctx context.Context, req *Req) (*ClientStream[Req, Resp], error) {
	st := &ClientStream[Req, Resp]{cl: cl, ctx: ctx, ch: make(chan streamItem[Resp], 16), fin: make(chan struct{}), gone: make(chan struct{})}
	c := &ccall[Req, Resp]{stream: st, done: make(chan error, 1)}
	id, err := cl.open(ctx, c, req)
	if err != nil {
		return nil, err
	}
	st.id = id
	stop := context.AfterFunc(ctx, st.cancel) // may run at once, on another goroutine
	st.afMu.Lock()
	st.stopAF = stop
	st.afMu.Unlock()
	select {
	case <-st.gone: // ended before the hook was recorded
		stop()
	default:
	}
	return st, nil
}

type streamItem[Resp any] struct {
	r   *Resp
	err error
}

// ClientStream is the receiving end of a streaming call. Recv and Close
// may be called from one goroutine at a time.
type ClientStream[Req, Resp any] struct {
	cl      *Client[Req, Resp]
	ctx     context.Context
	id      uint64
	ch      chan streamItem[Resp] // items, then the end (an item with err)
	fin     chan struct{}         // closed when the connection closed
	gone    chan struct{}         // closed by Close or a cancel: the reader stops delivering
	goneOne sync.Once
	afMu    sync.Mutex
	stopAF  func() bool // stops the cancel-on-ctx-end hook; under afMu
	err     error       // once ended
}

// Recv returns the next item (a fresh message the caller owns). At the
// stream's End it returns io.EOF; after a Cancel from the server,
// ErrCancelledRemotely; after the connection's close, ErrClosed. When ctx
// ends first it sends Cancel and returns ctx's error.
func (st *ClientStream[Req, Resp]) Recv() (*Resp, error) {
	if st.err != nil {
		return nil, st.err
	}
	select {
	case it := <-st.ch:
		return st.item(it)
	default:
	}
	select {
	case it := <-st.ch:
		return st.item(it)
	case <-st.fin:
		select {
		case it := <-st.ch:
			return st.item(it)
		default:
			st.err = ErrClosed
			st.markGone()
			return nil, st.err
		}
	case <-st.ctx.Done():
		st.cancel()
		st.err = st.ctx.Err()
		return nil, st.err
	}
}

func (st *ClientStream[Req, Resp]) item(it streamItem[Resp]) (*Resp, error) {
	if it.err != nil {
		st.err = it.err
		st.markGone()
	}
	return it.r, it.err
}

func (st *ClientStream[Req, Resp]) markGone() {
	st.goneOne.Do(func() {
		close(st.gone)
		st.afMu.Lock()
		stop := st.stopAF
		st.afMu.Unlock()
		if stop != nil {
			stop()
		}
	})
}

// cancel frees the id and sends Cancel if the stream was still in flight.
func (st *ClientStream[Req, Resp]) cancel() {
	cl := st.cl
	cl.mu.Lock()
	c := cl.pending.get(st.id)
	live := c != nil && c.stream == st && cl.pending.remove(st.id, c)
	cl.mu.Unlock()
	st.markGone()
	if live {
		cl.sendCancel(st.id)
	}
}

// Close ends the stream: if the server has not ended it, Close sends
// Cancel. It does not wait for anything.
func (st *ClientStream[Req, Resp]) Close() error {
	st.cancel()
	if st.err == nil {
		st.err = ErrClosed
	}
	return nil
}

// OnMessage implements socket.Reactor: replies complete their calls;
// messages for unknown ids are ignored; an undecodable one closes the
// connection.
func (cl *Client[Req, Resp]) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	id, code, parsed, err := peek(cl.resp, m.Payload, &cl.scratch)
	if err != nil {
		return socket.Disconnect
	}
	code = Read(code)
	cl.mu.Lock()
	c := cl.pending.get(id)
	if c != nil && (c.stream == nil || code != Normal) {
		cl.pending.remove(id, c) // the call ends here
	}
	cl.mu.Unlock()
	if c == nil {
		cl.ignored.Add(1)
		return socket.Continue
	}
	if st := c.stream; st != nil {
		var it streamItem[Resp]
		switch code {
		case Normal:
			it.r = new(Resp)
			if err := cl.resp.Parse(m.Payload, it.r); err != nil {
				st.deliver(streamItem[Resp]{err: err})
				return socket.Disconnect
			}
		case Cancel:
			it.err = ErrCancelledRemotely
		default:
			it.err = io.EOF
		}
		st.deliver(it)
		return socket.Continue
	}
	switch code {
	case Normal:
		_ = parsed // without a Peeker the id was read from a parse into scratch: parse again into the caller's
		err = cl.resp.Parse(m.Payload, c.resp)
		c.done <- err
		if err != nil {
			return socket.Disconnect
		}
	case Cancel:
		c.done <- ErrCancelledRemotely
	default:
		c.done <- ErrNoResponse
	}
	return socket.Continue
}

// deliver hands an item to the stream, waiting while the caller lags
// (the reader stops reading: TCP pushes back) unless the stream is gone.
func (st *ClientStream[Req, Resp]) deliver(it streamItem[Resp]) {
	select {
	case st.ch <- it:
	case <-st.gone:
	case <-st.cl.shut:
	}
}

// OnClose ends every call in flight with ErrClosed.
func (cl *Client[Req, Resp]) OnClose(*socket.Conn, error) {
	cl.mu.Lock()
	cl.closed = true
	cl.pending.drain(func(c *ccall[Req, Resp]) {
		if c.stream != nil {
			close(c.stream.fin)
		} else {
			c.done <- ErrClosed
		}
	})
	cl.mu.Unlock()
	cl.stop()
}

// Close closes the connection; calls in flight end with ErrClosed.
func (cl *Client[Req, Resp]) Close() error {
	cl.shutOne.Do(func() { close(cl.shut) }) // a reader waiting for a stream's Recv stops waiting
	cl.snd.Close()
	return cl.conn.Close()
}
