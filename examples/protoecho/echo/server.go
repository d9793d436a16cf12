package echo

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket"
)

// Limits the server applies to a request.
const (
	MaxStream = 10000 // stream_count above it is served as MaxStream
	MaxDelay  = 60000 // delay_ms above it is served as MaxDelay
)

// Serve serves the echo service on ln until ctx ends. opts.Framing nil
// means protobuf.Framing. A peer that sends a malformed length, a length
// over opts.MaxFrameSize or a body that is not an EchoRequest is
// disconnected.
func Serve(ctx context.Context, ln net.Listener, opts socket.Options) error {
	if opts.Framing == nil {
		opts.Framing = protobuf.Framing
	}
	return socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor {
		return &serverConn{calls: map[uint64]context.CancelFunc{}}
	}, opts)
}

type serverConn struct {
	req   EchoRequest // reused: OnMessage runs on the reader goroutine only
	mu    sync.Mutex
	calls map[uint64]context.CancelFunc
	wg    sync.WaitGroup
}

// OnMessage implements socket.Reactor.
func (s *serverConn) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	if err := protobuf.Unmarshal(m.Payload, &s.req); err != nil {
		return socket.Disconnect
	}
	id := s.req.GetRequestId()
	switch s.req.GetCode() {
	case Control_CANCEL:
		s.mu.Lock()
		if cancel := s.calls[id]; cancel != nil {
			cancel()
		}
		s.mu.Unlock()
		return socket.Continue
	case Control_NORMAL:
	default:
		return socket.Continue
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if _, dup := s.calls[id]; dup {
		s.mu.Unlock()
		cancel()
		return socket.Continue // the call in flight keeps the id
	}
	s.calls[id] = cancel
	s.mu.Unlock()
	text := s.req.GetMessage()
	n := min(s.req.GetStreamCount(), MaxStream)
	delay := time.Duration(min(s.req.GetDelayMs(), MaxDelay)) * time.Millisecond
	c.BeginWork()
	s.wg.Go(func() {
		defer c.EndWork()
		defer func() {
			s.mu.Lock()
			delete(s.calls, id)
			s.mu.Unlock()
			cancel()
		}()
		serveCall(ctx, c, id, text, n, delay)
	})
	return socket.Continue
}

func serveCall(ctx context.Context, c *socket.Conn, id uint64, text string, n uint32, delay time.Duration) {
	snd := c.NewSender(nil) // one lane per call keeps its replies in order
	defer snd.Close()
	resp := &EchoResponse{RequestId: id, Message: text}
	replies := max(n, 1)
	for i := uint32(0); i < replies; i++ {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		resp.Seq = i
		if protobuf.Send(ctx, snd, resp) != nil {
			return
		}
	}
	if n == 0 && ctx.Err() == nil {
		return // unary: the one Normal reply is the answer
	}
	end := &EchoResponse{RequestId: id, Code: Control_END}
	_ = protobuf.Send(context.Background(), snd, end)
}

// OnClose cancels the calls in flight and waits for them.
func (s *serverConn) OnClose(*socket.Conn, error) {
	s.mu.Lock()
	for _, cancel := range s.calls {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
