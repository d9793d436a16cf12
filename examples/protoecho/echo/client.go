package echo

import (
	"context"
	"errors"
	"io"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// Errors of Client.Call besides ctx's.
var (
	// ErrClosed: the connection closed before the call finished.
	ErrClosed = compat.ErrClosed
	// ErrCancelledRemotely: the server ended the call with Cancel.
	ErrCancelledRemotely = compat.ErrCancelledRemotely
)

// Client calls an echo server (this package's or any protosocket-rpc
// compatible one). Its methods are safe for concurrent use.
type Client struct {
	cl *compat.Client[EchoRequest, EchoResponse]
}

// Dial connects a Client to addr. opts.Framing nil means protobuf.Framing.
func Dial(ctx context.Context, network, addr string, opts socket.Options) (*Client, error) {
	if opts.Framing == nil {
		opts.Framing = protobuf.Framing
	}
	reqc, respc := Codecs()
	cl, err := compat.Dial(ctx, network, addr, reqc, respc, compat.Options{Socket: opts})
	if err != nil {
		return nil, err
	}
	return &Client{cl: cl}, nil
}

// Call sends req (its request_id and code are set here) and calls fn with
// every reply until the unary reply or the End of a stream. A Cancel from
// the server ends the call with ErrCancelledRemotely. If ctx ends first,
// Call sends Cancel for the id and returns ctx's error at once: as a
// protosocket-rpc client it waits for nothing more (a reply already on its
// way is dropped).
func (c *Client) Call(ctx context.Context, req *EchoRequest, fn func(*EchoResponse)) error {
	if req.GetStreamCount() == 0 {
		var resp EchoResponse
		if err := c.cl.Call(ctx, req, &resp); err != nil {
			return err
		}
		fn(&resp)
		return nil
	}
	st, err := c.cl.Stream(ctx, req)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(r)
	}
}

// Close closes the connection; pending calls end with ErrClosed.
func (c *Client) Close() error { return c.cl.Close() }
