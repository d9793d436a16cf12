package health

import (
	"context"
	"sync"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Check asks c's server for service's status. A server without the health
// service gives an error matching rpc.ErrUnimplemented.
func Check(ctx context.Context, c *rpc.Client, service string) (Status, error) {
	if len(service) > MaxServiceName {
		return Unknown, ErrServiceName
	}
	var buf [8]byte
	resp, err := c.Call(ctx, MethodCheck, []byte(service), buf[:0])
	if err != nil {
		return Unknown, err
	}
	if len(resp) != 1 {
		return Unknown, ErrMalformed
	}
	return parseStatus(resp[0]), nil
}

// Watcher follows one service's status (see Watch).
type Watcher struct {
	st   *rpc.ClientStream
	buf  []byte
	once sync.Once
}

// Watch opens a watch of service on c's server. ctx bounds the whole
// watch. Close the Watcher when done. A server without the health service
// gives an error matching rpc.ErrUnimplemented, from Watch or from the first
// Recv.
func Watch(ctx context.Context, c *rpc.Client, service string) (*Watcher, error) {
	if len(service) > MaxServiceName {
		return nil, ErrServiceName
	}
	st, err := c.OpenStream(ctx, MethodWatch, nil)
	if err != nil {
		return nil, err
	}
	if err := st.Send([]byte(service)); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		_ = st.Close()
		return nil, err
	}
	return &Watcher{st: st, buf: make([]byte, 0, 8)}, nil
}

// Recv waits for the next status: the current one first, then each
// change. A server without the health service gives an error matching
// rpc.ErrUnimplemented; a watch the server ended gives io.EOF.
func (w *Watcher) Recv() (Status, error) {
	b, err := w.st.Recv(w.buf[:0])
	if err != nil {
		return Unknown, err
	}
	if len(b) != 1 {
		return Unknown, ErrMalformed
	}
	return parseStatus(b[0]), nil
}

// Close ends the watch and releases its call slot.
func (w *Watcher) Close() error {
	w.once.Do(func() { _ = w.st.Close() })
	return nil
}
