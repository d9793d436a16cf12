package pssys

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Errors of the protosocket system; match them with errors.Is. Errors of
// the connections themselves match the socket package's sentinels
// (socket.ErrClosed and its causes).
var (
	// ErrTooManyCallers: every slot of the connection's slot array is
	// taken (more callers than the Concurrency given to Dial).
	ErrTooManyCallers = errors.New("pssys: too many callers for the connection")
	// ErrWrongScenario: a Caller was asked of a client dialed for a
	// streaming scenario.
	ErrWrongScenario = errors.New("pssys: wrong scenario for this client")
)

// KindServerStream is the frame kind of the request that turns a
// connection into a server stream; its payload is the 4-byte big-endian
// size of the frames the server then pushes.
const KindServerStream = frame.KindAppMin

// System is the protosocket System. The zero value is ready to use.
type System struct{}

// New returns the protosocket System.
func New() load.System { return System{} }

// Name returns "protosocket".
func (System) Name() string { return "protosocket" }

// Serve listens on addr and serves every scenario until Close or ctx ends.
func (System) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	ctx, cancel := context.WithCancel(ctx)
	ln, err := socket.Listen(ctx, "tcp", addr, socket.Options{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("pssys: %w", err)
	}
	s := &server{ln: ln, ctx: ctx, cancel: cancel, served: make(chan struct{})}
	go func() {
		defer close(s.served)
		_ = socket.Serve(ctx, ln, s.newReactor, socket.Options{})
	}()
	return s, nil
}

type server struct {
	ln      *socket.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	served  chan struct{} // closed when Serve has returned
	pushers sync.WaitGroup
}

func (s *server) Addr() string { return s.ln.Addr().String() }

// Close stops Serve (which closes every connection and waits for them),
// then waits for the server-stream pushers, which end when their
// connection closes.
func (s *server) Close() error {
	s.cancel()
	<-s.served
	s.pushers.Wait()
	return nil
}

func (s *server) newReactor(*socket.Conn) socket.Reactor { return &sconn{s: s} }

// sconn is the reactor of one server connection.
type sconn struct {
	s       *server
	pushing bool
}

// OnMessage echoes data frames with their header unchanged and starts the
// pusher on a KindServerStream request; anything else disconnects.
func (sc *sconn) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	switch m.Header.Kind {
	case frame.KindData:
		if c.Reply(m.Header, m.Payload) != nil {
			return socket.Disconnect
		}
		return socket.Continue
	case KindServerStream:
		n, ok := parseStreamRequest(m.Payload)
		if !ok || sc.pushing {
			return socket.Disconnect
		}
		sc.pushing = true
		snd := c.NewSender(nil)
		sc.s.pushers.Go(func() { push(sc.s.ctx, snd, n) })
		return socket.Continue
	default:
		return socket.Disconnect
	}
}

// parseStreamRequest reads the payload size of a server-stream request.
func parseStreamRequest(p []byte) (int, bool) {
	if len(p) != 4 {
		return 0, false
	}
	n := binary.BigEndian.Uint32(p)
	if n < load.StampSize || n > load.MaxPayload {
		return 0, false
	}
	return int(n), true
}

// push sends stamped frames of n bytes until the connection closes or the
// server stops; a full queue blocks it (the client's pace).
func push(ctx context.Context, snd *socket.Sender, n int) {
	defer snd.Close()
	p := make([]byte, n)
	for {
		load.StampWall(p)
		if snd.Send(ctx, frame.Header{}, p) != nil {
			return
		}
	}
}
