package echo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket"
)

// ErrClosed: the connection closed before the call finished.
var ErrClosed = errors.New("echo: connection closed")

// Client calls an echo server (this package's or any protosocket-rpc
// compatible one). Its methods are safe for concurrent use.
type Client struct {
	conn    *socket.Conn
	snd     *socket.Sender
	sndMu   sync.Mutex
	mu      sync.Mutex
	pending map[uint64]*call
	closed  bool
	nextID  atomic.Uint64
}

// Dial connects a Client to addr. opts.Framing nil means protobuf.Framing.
func Dial(ctx context.Context, network, addr string, opts socket.Options) (*Client, error) {
	if opts.Framing == nil {
		opts.Framing = protobuf.Framing
	}
	cl := &Client{pending: map[uint64]*call{}}
	conn, err := socket.Dial(ctx, network, addr, cl, opts)
	if err != nil {
		return nil, err
	}
	cl.conn = conn
	cl.snd = conn.NewSender(nil)
	return cl, nil
}

// Call sends req (its request_id and code are set here) and calls fn with
// every reply until the unary reply or the End of a stream. If ctx ends
// first, Call sends Cancel for the id, waits for the server's End (or the
// connection's close) and returns ctx's error.
func (cl *Client) Call(ctx context.Context, req *EchoRequest, fn func(*EchoResponse)) error {
	id := cl.nextID.Add(1)
	c := &call{ch: make(chan *EchoResponse, 16), done: make(chan struct{})}
	ch := c.ch
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return ErrClosed
	}
	cl.pending[id] = c
	cl.mu.Unlock()
	defer cl.forget(id, c)
	req.RequestId, req.Code = id, Control_NORMAL
	if err := cl.send(ctx, req); err != nil {
		return err
	}
	unary := req.GetStreamCount() == 0
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return ErrClosed
			}
			if r.GetCode() == Control_END {
				return nil
			}
			fn(r)
			if unary {
				return nil
			}
		case <-ctx.Done():
			cancel := &EchoRequest{RequestId: id, Code: Control_CANCEL}
			if err := cl.send(context.Background(), cancel); err != nil {
				return ctx.Err()
			}
			for r := range ch { // until End; replies already in flight are dropped
				if r.GetCode() == Control_END {
					break
				}
			}
			return ctx.Err()
		}
	}
}

func (cl *Client) send(ctx context.Context, m *EchoRequest) error {
	cl.sndMu.Lock() // one lane: a Cancel never overtakes its request
	defer cl.sndMu.Unlock()
	return protobuf.Send(ctx, cl.snd, m)
}

// call is one call in flight: replies go to ch until done is closed.
type call struct {
	ch   chan *EchoResponse
	done chan struct{}
}

func (cl *Client) forget(id uint64, c *call) {
	cl.mu.Lock()
	delete(cl.pending, id)
	cl.mu.Unlock()
	close(c.done)
}

// OnMessage implements socket.Reactor: replies go to their calls; a reply
// for an unknown id is dropped; an undecodable one closes the connection.
func (cl *Client) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	r := new(EchoResponse) // handed to the caller: not reused
	if err := protobuf.Unmarshal(m.Payload, r); err != nil {
		return socket.Disconnect
	}
	cl.mu.Lock()
	c := cl.pending[r.GetRequestId()]
	cl.mu.Unlock()
	if c != nil {
		select { // blocks the reader while the caller lags: TCP pushes back
		case c.ch <- r:
		case <-c.done:
		}
	}
	return socket.Continue
}

// OnClose ends every pending call with ErrClosed.
func (cl *Client) OnClose(*socket.Conn, error) {
	cl.mu.Lock()
	cl.closed = true
	for id, c := range cl.pending {
		close(c.ch)
		delete(cl.pending, id)
	}
	cl.mu.Unlock()
}

// Close closes the connection; pending calls end with ErrClosed.
func (cl *Client) Close() error {
	cl.snd.Close()
	return cl.conn.Close()
}
