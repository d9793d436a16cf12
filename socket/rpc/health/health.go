package health

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Method ids of the health service (see the package doc).
const (
	MethodCheck uint32 = 0xFFFF_0001
	MethodWatch uint32 = 0xFFFF_0002
)

// MaxServiceName is the longest service name, in bytes.
const MaxServiceName = 1024

// Status is the serving status of a service; the values are gRPC's
// (grpc.health.v1.HealthCheckResponse.ServingStatus).
type Status uint8

// Statuses.
const (
	// Unknown: the status is not known (also what a status byte from a
	// newer peer reads as).
	Unknown Status = 0
	// Serving: the service accepts calls.
	Serving Status = 1
	// NotServing: the service does not accept calls; clients go elsewhere.
	NotServing Status = 2
	// ServiceUnknown: the server has no status for this service name.
	ServiceUnknown Status = 3
)

// String returns the gRPC name of s.
func (s Status) String() string {
	switch s {
	case Unknown:
		return "UNKNOWN"
	case Serving:
		return "SERVING"
	case NotServing:
		return "NOT_SERVING"
	case ServiceUnknown:
		return "SERVICE_UNKNOWN"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// parseStatus reads a status byte; a value this package does not define
// reads as Unknown.
func parseStatus(b byte) Status {
	if s := Status(b); s <= ServiceUnknown {
		return s
	}
	return Unknown
}

// Errors.
var (
	// ErrMalformed: a health response that is not one status byte.
	ErrMalformed = errors.New("health: malformed response")
	// ErrServiceName: a service name over MaxServiceName bytes.
	ErrServiceName = errors.New("health: service name too long")
)

// Server holds the statuses and serves MethodCheck and MethodWatch. A new
// Server reports Serving for "" (the whole server), like grpc-go's.
type Server struct {
	mu       sync.Mutex
	statuses map[string]Status
	watchers map[string]map[*watcher]struct{}
	shutdown bool
	done     chan struct{} // closed by Close: watches end
	once     sync.Once
}

type watcher struct {
	ch chan Status // capacity 1: the latest status not yet sent
}

// offer replaces the pending status with s (the caller holds Server.mu,
// so it is the only sender).
func (w *watcher) offer(s Status) {
	select {
	case <-w.ch:
	default:
	}
	w.ch <- s
}

// NewServer returns a Server with "" Serving.
func NewServer() *Server {
	return &Server{statuses: map[string]Status{"": Serving},
		watchers: map[string]map[*watcher]struct{}{}, done: make(chan struct{})}
}

// Register adds MethodCheck (Inline: it never blocks) and MethodWatch to
// srv.
func (s *Server) Register(srv *rpc.Server) {
	srv.Handle(MethodCheck, s.check, rpc.Inline)
	srv.HandleStream(MethodWatch, s.watch)
}

// SetServingStatus sets service's status and tells its watchers. After
// Shutdown it does nothing until Resume.
func (s *Server) SetServingStatus(service string, status Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return
	}
	s.setLocked(service, status)
}

func (s *Server) setLocked(service string, status Status) {
	s.statuses[service] = status
	for w := range s.watchers[service] {
		w.offer(status)
	}
}

// Status returns service's status (ServiceUnknown if it has none).
func (s *Server) Status(service string) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.statuses[service]; ok {
		return st
	}
	return ServiceUnknown
}

// Shutdown sets every service NotServing and ignores SetServingStatus
// until Resume: call it before rpc.Server.Drain so health-checking
// clients move away first.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	for name := range s.statuses {
		s.setLocked(name, NotServing)
	}
}

// Resume sets every service Serving and accepts SetServingStatus again.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = false
	for name := range s.statuses {
		s.setLocked(name, Serving)
	}
}

// Close ends every Watch (the client's Recv returns io.EOF) and refuses
// new ones with rpc.CodeUnavailable; Check keeps answering. Call it
// before rpc.Server.Drain, which waits for streams to end. A Watch blocked
// sending to a client that does not read ends when that client's
// connection closes.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
}

func (s *Server) check(_ context.Context, req, dst []byte) ([]byte, error) {
	if len(req) > MaxServiceName {
		return dst, rpc.NewError(rpc.CodeInvalidArgument, ErrServiceName.Error())
	}
	s.mu.Lock()
	st, ok := s.statuses[string(req)]
	s.mu.Unlock()
	if !ok {
		st = ServiceUnknown
	}
	return append(dst, byte(st)), nil
}

func (s *Server) watch(ctx context.Context, st *rpc.ServerStream) error {
	name, err := st.Recv(nil)
	if errors.Is(err, io.EOF) {
		return rpc.NewError(rpc.CodeInvalidArgument, "health: watch without a service name")
	}
	if err != nil {
		return err
	}
	if len(name) > MaxServiceName {
		return rpc.NewError(rpc.CodeInvalidArgument, ErrServiceName.Error())
	}
	service := string(name)
	w := &watcher{ch: make(chan Status, 1)}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return rpc.NewError(rpc.CodeUnavailable, "health: server closed")
	default:
	}
	ws := s.watchers[service]
	if ws == nil {
		ws = map[*watcher]struct{}{}
		s.watchers[service] = ws
	}
	ws[w] = struct{}{}
	cur, ok := s.statuses[service]
	if !ok {
		cur = ServiceUnknown
	}
	w.offer(cur)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(ws, w)
		if len(ws) == 0 {
			delete(s.watchers, service)
		}
		s.mu.Unlock()
	}()
	sent := Status(0xFF) // nothing sent yet
	var msg [1]byte
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return nil
		case v := <-w.ch:
			if v == sent {
				continue
			}
			sent = v
			msg[0] = byte(v)
			if err := st.Send(msg[:]); err != nil {
				return err
			}
		}
	}
}

// watcherCount returns the number of open watches (tests).
func (s *Server) watcherCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ws := range s.watchers {
		n += len(ws)
	}
	return n
}
