package balance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/health"
)

// DefaultHealthWait is how long HealthChecked.Resolve waits for the first
// status of an address it has not seen before.
const DefaultHealthWait = 2 * time.Second

// HealthOptions configures HealthChecked. The zero value works.
type HealthOptions struct {
	// Service is the health service name to watch; "" is the whole
	// server.
	Service string
	// Network is the dial network. Empty means "tcp".
	Network string
	// Client configures the health-checking connection (one per address,
	// apart from the Pool's).
	Client rpc.ClientOptions
	// Wait bounds how long Resolve waits for the first status of a new
	// address. Zero means DefaultHealthWait.
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the jittered redial delay of a
	// health connection. Zero means DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// Validate reports the first bad field.
func (o HealthOptions) Validate() error {
	bad := func(f string, v int64, why string) error {
		return fmt.Errorf("%w: %s = %d: %s", ErrInvalidOptions, f, v, why)
	}
	switch {
	case len(o.Service) > health.MaxServiceName:
		return bad("Service", int64(len(o.Service)), "longer than health.MaxServiceName")
	case o.Wait < 0:
		return bad("Wait", int64(o.Wait), "must not be negative")
	case o.MinBackoff < 0 || o.MaxBackoff < 0 || (o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff):
		return bad("MinBackoff", int64(o.MinBackoff), "must be 0..MaxBackoff")
	}
	return o.Client.Validate()
}

// HealthChecked is a Resolver that keeps, of its inner Resolver's
// addresses, those whose health service says Serving: give it to New and
// the Pool drops the connections of a backend that turns NotServing and
// dials it again when it is back. It watches each address over a
// connection of its own (health.Watch, so a change arrives at once, not
// at the next poll); the Pool sees the change at its next Refresh, so use
// a short Options.Refresh (a second, say): Resolve itself costs the inner
// Resolver's call and a map walk.
//
// An address counts as serving when its status is health.Serving, and
// also when its server has no health service (rpc.ErrUnimplemented, gRPC's
// rule for UNIMPLEMENTED; or rpc.ErrNotFound, what servers before the
// full gRPC code set sent for an unregistered method). It does not count while its health connection
// is down or the watch failed (it is redialed with backoff), nor while
// its first status has not arrived. When none is serving Resolve returns
// an empty list, so the Pool's calls fail with ErrNoConn rather than go to
// backends that said they cannot serve. An inner Resolver's error is
// returned as is (the Pool then keeps its last list).
type HealthChecked struct {
	inner   Resolver
	opts    HealthOptions
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	targets map[string]*healthTarget
	closed  bool
}

type healthTarget struct {
	addr    string
	serving atomic.Bool
	status  atomic.Uint32 // the last health.Status received
	first   chan struct{} // closed at the first result (status or failure)
	once    sync.Once
	stop    context.CancelFunc
}

func (t *healthTarget) set(serving bool, st health.Status) {
	t.status.Store(uint32(st))
	t.serving.Store(serving)
	t.once.Do(func() { close(t.first) })
}

// NewHealthChecked returns a HealthChecked over inner. Close it after the
// Pool.
func NewHealthChecked(inner Resolver, opts HealthOptions) (*HealthChecked, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Network == "" {
		opts.Network = "tcp"
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultHealthWait
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	h := &HealthChecked{inner: inner, opts: opts, targets: map[string]*healthTarget{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Resolve asks the inner Resolver, starts watching new addresses (waiting
// up to HealthOptions.Wait for their first status), stops watching
// removed ones, and returns the serving addresses in the inner order.
func (h *HealthChecked) Resolve(ctx context.Context) ([]string, error) {
	addrs, err := h.inner.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	want := make(map[string]bool, len(addrs))
	var fresh []*healthTarget
	for _, a := range addrs {
		want[a] = true
		if h.targets[a] == nil {
			t := &healthTarget{addr: a, first: make(chan struct{})}
			var tctx context.Context
			tctx, t.stop = context.WithCancel(h.ctx)
			h.targets[a] = t
			fresh = append(fresh, t)
			h.wg.Go(func() { h.watch(tctx, t) })
		}
	}
	for a, t := range h.targets {
		if !want[a] {
			t.stop()
			delete(h.targets, a)
		}
	}
	h.mu.Unlock()
	if len(fresh) > 0 {
		wait := time.NewTimer(h.opts.Wait)
		defer wait.Stop()
	waitAll:
		for _, t := range fresh {
			select {
			case <-t.first:
			case <-wait.C:
				break waitAll
			case <-ctx.Done():
				break waitAll
			}
		}
	}
	out := make([]string, 0, len(addrs))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range addrs {
		if t := h.targets[a]; t != nil && t.serving.Load() {
			out = append(out, a)
		}
	}
	return out, nil
}

// Status returns the last health status received from addr and whether
// it counts as serving (false for an address not being watched).
func (h *HealthChecked) Status(addr string) (health.Status, bool) {
	h.mu.Lock()
	t := h.targets[addr]
	h.mu.Unlock()
	if t == nil {
		return health.Unknown, false
	}
	return health.Status(t.status.Load()), t.serving.Load()
}

// Close stops every watch and waits for their goroutines.
func (h *HealthChecked) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// watch keeps a health watch on t.addr until ctx ends.
func (h *HealthChecked) watch(ctx context.Context, t *healthTarget) {
	backoff := h.opts.MinBackoff
	for {
		if h.watchOnce(ctx, t) {
			backoff = h.opts.MinBackoff
		}
		if ctx.Err() != nil {
			return
		}
		d := time.Duration(rand.Int64N(int64(backoff)) + 1)
		backoff = min(backoff*2, h.opts.MaxBackoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

// watchOnce dials, watches until something fails, and reports whether a
// status arrived (then the backoff starts again from its minimum).
func (h *HealthChecked) watchOnce(ctx context.Context, t *healthTarget) (gotStatus bool) {
	dctx, cancel := context.WithTimeout(ctx, h.opts.Client.Socket.ConnectTimeout+5*time.Second)
	c, err := rpc.Dial(dctx, h.opts.Network, t.addr, h.opts.Client)
	cancel()
	if err != nil {
		t.set(false, health.Unknown)
		return false
	}
	defer c.Close()
	w, err := health.Watch(ctx, c, h.opts.Service)
	for err == nil {
		var st health.Status
		if st, err = w.Recv(); err == nil {
			gotStatus = true
			t.set(st == health.Serving, st)
		}
	}
	if w != nil {
		_ = w.Close()
	}
	if errors.Is(err, rpc.ErrUnimplemented) || errors.Is(err, rpc.ErrNotFound) {
		// No health service on that server: serving while the
		// connection lives.
		t.set(true, health.Unknown)
		select {
		case <-ctx.Done():
		case <-c.Closed():
		}
		t.set(false, health.Unknown)
		return true
	}
	t.set(false, health.Unknown)
	return gotStatus
}
