package compatsys

import (
	"context"
	"errors"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/compatsys/benchpb"
	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// errClosed: the pipelined stream was closed.
var errClosed = errors.New("compatsys: stream closed")

// pipe is the Pipelined and Bidi scenarios the way protosocket-rpc
// pipelines: on its own connection, each Send is a request with the next
// id, sent without waiting; the Inline server answers in order and Recv
// returns the replies' payloads as they come.
type pipe struct {
	conn  *socket.Conn
	snd   *socket.Sender
	codec *codec
	id    uint64
	out   benchpb.Msg
	buf   []byte

	in      benchpb.Msg   // the reader's
	replies chan []byte   // payloads, in arrival order
	free    chan []byte   // recycled payload buffers
	closed  chan struct{} // closed by Close
	once    sync.Once
	last    []byte // the buffer Recv returned last
}

func dialPipe(ctx context.Context, addr string, opts compat.Options, window int) (*pipe, error) {
	window = max(window, 1)
	p := &pipe{codec: codecs(), replies: make(chan []byte, window+1), free: make(chan []byte, window+2), closed: make(chan struct{})}
	so := opts.Socket
	so.Framing = protobuf.Framing
	conn, err := socket.Dial(ctx, "tcp", addr, p, so)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	p.snd = conn.NewSender(nil)
	return p, nil
}

// Send implements load.Stream.
func (p *pipe) Send(b []byte) error {
	p.id++
	p.out.RequestId, p.out.Payload = p.id, b
	var err error
	p.buf, err = p.codec.Append(p.buf[:0], &p.out)
	p.out.Payload = nil
	if err != nil {
		return err
	}
	return p.snd.Send(context.Background(), frame.Header{}, p.buf)
}

// Flush implements load.Stream: every Send is queued for the writer at once.
func (p *pipe) Flush() error { return nil }

// Recv implements load.Stream.
func (p *pipe) Recv() ([]byte, error) {
	if p.last != nil {
		select {
		case p.free <- p.last:
		default:
		}
		p.last = nil
	}
	select {
	case b := <-p.replies:
		p.last = b
		return b, nil
	case <-p.closed:
		return nil, errClosed
	case <-p.conn.Closed():
		return nil, errClosed
	}
}

// OnMessage implements socket.Reactor: a reply's payload is copied into a
// recycled buffer for Recv.
func (p *pipe) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	if err := p.codec.Parse(m.Payload, &p.in); err != nil || compat.Read(compat.Control(p.in.Code)) != compat.Normal {
		return socket.Disconnect
	}
	var b []byte
	select {
	case b = <-p.free:
	default:
	}
	b = append(b[:0], p.in.Payload...)
	select {
	case p.replies <- b:
	case <-p.closed:
	}
	return socket.Continue
}

// Close implements load.Stream.
func (p *pipe) Close() error {
	p.once.Do(func() {
		close(p.closed)
		_ = p.conn.Close() // lets go of the Sender's queue too
	})
	return nil
}
