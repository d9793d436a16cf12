package balance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Defaults for Options fields left zero.
const (
	DefaultConnsPerAddr = 2
	DefaultKeepAlive    = 15 * time.Second
	DefaultPingTimeout  = 5 * time.Second
	DefaultMinBackoff   = 50 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
	DefaultRefresh      = 30 * time.Second
	DefaultMaxAttempts  = 3
	DefaultDrainTimeout = 10 * time.Second
)

// Errors. Every error of a Pool's call matches one of rpc.ErrUnavailable
// (not processed, safe to retry), rpc.ErrClosed (the connection died with
// the call in flight: it may have run; or the Pool is closed), an
// *rpc.Error with a code, or a ctx error (see the rpc package doc).
var (
	// ErrNoConn: no connection is up and accepting calls. The call was
	// not sent: it matches rpc.ErrUnavailable.
	ErrNoConn error = &wrapped{"balance: no usable connection", rpc.ErrUnavailable}
	// ErrClosed: the Pool is closed; nothing was sent. It matches
	// rpc.ErrClosed.
	ErrClosed error = &wrapped{"balance: pool closed", rpc.ErrClosed}
	// ErrInvalidOptions is matched by every error Validate returns.
	ErrInvalidOptions = errors.New("balance: invalid options")
)

// wrapped is a sentinel that also matches a more general one.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// Resolver supplies the server addresses; the Pool asks again every
// Options.Refresh and adds or removes connections to match.
type Resolver interface {
	Resolve(ctx context.Context) ([]string, error)
}

// Static is a fixed address list.
type Static []string

// Resolve returns the list.
func (s Static) Resolve(context.Context) ([]string, error) { return s, nil }

// Options configures a Pool. The zero value works.
type Options struct {
	// Network is the dial network. Empty means "tcp".
	Network string
	// ConnsPerAddr is the number of connections per address. Zero means
	// DefaultConnsPerAddr.
	ConnsPerAddr int
	// Client configures every connection.
	Client rpc.ClientOptions
	// KeepAlive is the interval of ping frames on an idle-or-not
	// connection; a ping not answered within PingTimeout closes the
	// connection (it is then redialed). The same default applies on both
	// sides and servers never penalize pings. Zero means DefaultKeepAlive;
	// negative disables pings.
	KeepAlive time.Duration
	// PingTimeout: zero means DefaultPingTimeout.
	PingTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential redial
	// delay. Zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Refresh is how often the Resolver is asked again. Zero means
	// DefaultRefresh.
	Refresh time.Duration
	// MaxAttempts bounds the tries of one Pool.Call: a call refused as
	// not processed (errors.Is rpc.ErrUnavailable: a draining server, an
	// overloaded one, a connection that closed before the request left)
	// is tried again on another connection, at most MaxAttempts times in
	// all. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// DrainTimeout bounds the drain of a connection whose address the
	// Resolver removed: it takes no new calls at once, keeps its
	// outstanding calls and streams until they end, and is closed after
	// DrainTimeout at the latest (its remaining calls then end with
	// rpc.ErrClosed). Pool.Close closes at once. Zero means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
}

// Validate reports the first bad field.
func (o Options) Validate() error {
	bad := func(f string, v int64, why string) error {
		return fmt.Errorf("%w: %s = %d: %s", ErrInvalidOptions, f, v, why)
	}
	switch {
	case o.ConnsPerAddr < 0 || o.ConnsPerAddr > 1024:
		return bad("ConnsPerAddr", int64(o.ConnsPerAddr), "must be 0..1024")
	case o.PingTimeout < 0:
		return bad("PingTimeout", int64(o.PingTimeout), "must not be negative")
	case o.MinBackoff < 0 || o.MaxBackoff < 0 || (o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff):
		return bad("MinBackoff", int64(o.MinBackoff), "must be 0..MaxBackoff")
	case o.Refresh < 0:
		return bad("Refresh", int64(o.Refresh), "must not be negative")
	case o.MaxAttempts < 0 || o.MaxAttempts > 100:
		return bad("MaxAttempts", int64(o.MaxAttempts), "must be 0..100")
	case o.DrainTimeout < 0:
		return bad("DrainTimeout", int64(o.DrainTimeout), "must not be negative")
	}
	return o.Client.Validate()
}

func (o *Options) ensureDefaults() {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.ConnsPerAddr == 0 {
		o.ConnsPerAddr = DefaultConnsPerAddr
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.PingTimeout == 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
}

// member is one connection slot, kept up by its own goroutine.
type member struct {
	addr   string
	client atomic.Pointer[rpc.Client]
	dials  atomic.Uint64
	stop   chan struct{}
	done   chan struct{}
}

func (m *member) usable() *rpc.Client {
	c := m.client.Load()
	if c == nil || c.Draining() || c.Err() != nil {
		return nil
	}
	return c
}

// Pool is a set of connections to one or more servers.
type Pool struct {
	opts    Options
	res     Resolver
	members atomic.Pointer[[]*member]
	mu      sync.Mutex // guards changes of members
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool

	readyMu sync.Mutex
	readyCh chan struct{} // closed (and replaced) when a connection comes up
}

// notifyReady wakes the calls waiting for a usable connection.
func (p *Pool) notifyReady() {
	p.readyMu.Lock()
	close(p.readyCh)
	p.readyCh = make(chan struct{})
	p.readyMu.Unlock()
}

func (p *Pool) readyChan() <-chan struct{} {
	p.readyMu.Lock()
	defer p.readyMu.Unlock()
	return p.readyCh
}

// New resolves the addresses and starts ConnsPerAddr connections to each
// (dialed in the background: use WaitReady to wait for the first).
func New(ctx context.Context, res Resolver, opts Options) (*Pool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	addrs, err := res.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, res: res, readyCh: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	empty := []*member{}
	p.members.Store(&empty)
	p.update(addrs)
	p.wg.Add(1)
	go p.refreshLoop()
	return p, nil
}

// WaitReady waits until at least one connection is usable or ctx ends
// (ErrClosed if the Pool closes meanwhile).
func (p *Pool) WaitReady(ctx context.Context) error {
	_, err := p.pickWait(ctx)
	return err
}

// pickWait is Pick that waits, bounded by ctx, while no connection is
// usable.
func (p *Pool) pickWait(ctx context.Context) (*rpc.Client, error) {
	for {
		ch := p.readyChan() // before Pick: a connection that comes up after Pick wakes us
		c, err := p.Pick()
		if err == nil || !errors.Is(err, ErrNoConn) {
			return c, err
		}
		// A connection may also become usable without a notification
		// (its GoAway never comes, a redial lands): look again now and
		// then.
		t := time.NewTimer(pickRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-p.ctx.Done():
			t.Stop()
			return nil, ErrClosed
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// pickRetry is how often a call waiting for a usable connection looks
// again without being woken.
const pickRetry = 10 * time.Millisecond

// update makes the members match addrs.
func (p *Pool) update(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return
	}
	old := *p.members.Load()
	var next []*member
	want := map[string]int{}
	for _, a := range addrs {
		want[a] = p.opts.ConnsPerAddr
	}
	for _, m := range old {
		if want[m.addr] > 0 {
			want[m.addr]--
			next = append(next, m)
		} else {
			close(m.stop) // removed address: its goroutine drains the connection
		}
	}
	for _, a := range addrs {
		for ; want[a] > 0; want[a]-- {
			m := &member{addr: a, stop: make(chan struct{}), done: make(chan struct{})}
			next = append(next, m)
			p.wg.Add(1)
			go p.keep(m)
		}
	}
	p.members.Store(&next)
}

// Refresh asks the Resolver now and makes the connections match its
// answer (new addresses dialed, removed ones drained), without waiting
// for the next Options.Refresh: call it when you know the fleet changed.
// A Resolver error is returned and the current set kept; after Close it
// is ErrClosed.
func (p *Pool) Refresh(ctx context.Context) error {
	if p.closed.Load() {
		return ErrClosed
	}
	addrs, err := p.res.Resolve(ctx)
	if err != nil {
		return err
	}
	p.update(addrs)
	return nil
}

func (p *Pool) refreshLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			if addrs, err := p.res.Resolve(p.ctx); err == nil {
				p.update(addrs)
			}
		}
	}
}

// keep dials m's connection and keeps it up until the pool closes or
// the address is removed.
func (p *Pool) keep(m *member) {
	defer p.wg.Done()
	defer close(m.done)
	backoff := p.opts.MinBackoff
	for {
		m.dials.Add(1)
		dctx, cancel := context.WithTimeout(p.ctx, p.opts.PingTimeout+p.opts.Client.Socket.ConnectTimeout+time.Second)
		c, err := rpc.Dial(dctx, p.opts.Network, m.addr, p.opts.Client)
		cancel()
		if err == nil {
			m.client.Store(c)
			p.notifyReady()
			p.watch(m, c)
			m.client.Store(nil)
			if stopped(m) {
				p.drainRemoved(c)
			}
			_ = c.Close()
			backoff = p.opts.MinBackoff
		}
		// Full jitter: a random delay up to the current backoff.
		d := time.Duration(rand.Int64N(int64(backoff)) + 1)
		backoff = min(backoff*2, p.opts.MaxBackoff)
		select {
		case <-p.ctx.Done():
			return
		case <-m.stop:
			return
		case <-time.After(d):
		}
	}
}

func stopped(m *member) bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

// drainRemoved waits, up to Options.DrainTimeout (or the Pool's Close),
// for the calls and streams still outstanding on c, the connection of a
// removed address: it is out of the member list, so no new call picks
// it, and the calls that did finish instead of failing with ErrClosed.
func (p *Pool) drainRemoved(c *rpc.Client) {
	if c.Outstanding() == 0 {
		return
	}
	deadline := time.NewTimer(p.opts.DrainTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()
	for c.Outstanding() > 0 {
		select {
		case <-p.ctx.Done():
			return
		case <-deadline.C:
			return
		case <-c.Closed():
			return
		case <-poll.C:
		}
	}
}

// drainPoll is how often drainRemoved looks at a draining connection's
// outstanding calls.
const drainPoll = 10 * time.Millisecond

// watch returns when c dies, its server drains, a ping fails, or the
// member stops.
func (p *Pool) watch(m *member, c *rpc.Client) {
	var tick <-chan time.Time
	if p.opts.KeepAlive > 0 {
		t := time.NewTicker(p.opts.KeepAlive)
		defer t.Stop()
		tick = t.C
	}
	drainCheck := time.NewTicker(100 * time.Millisecond)
	defer drainCheck.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-m.stop:
			return
		case <-c.Closed():
			return
		case <-drainCheck.C:
			if c.Draining() && c.Outstanding() == 0 {
				return // reconnect: the server's replacement or another address takes over
			}
		case <-tick:
			k, err := c.NewCaller()
			if errors.Is(err, rpc.ErrTooManyCalls) {
				continue // every slot busy: the connection is alive, ping next time
			}
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.opts.PingTimeout)
			err = k.Ping(ctx)
			cancel()
			k.Close()
			if err != nil {
				return
			}
		}
	}
}

// Pick returns a usable connection: of two members chosen at random, the
// one with fewer outstanding calls (power of two choices). Draining and
// down connections are skipped.
func (p *Pool) Pick() (*rpc.Client, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	ms := *p.members.Load()
	n := len(ms)
	if n == 0 {
		return nil, ErrNoConn
	}
	i := rand.IntN(n)
	a := ms[i].usable()
	if n > 1 {
		j := (i + 1 + rand.IntN(n-1)) % n // a different member
		if b := ms[j].usable(); b != nil && (a == nil || b.Outstanding() < a.Outstanding()) {
			a = b
		}
	}
	if a != nil {
		return a, nil
	}
	for k := range n { // both were down: take any usable one
		if c := ms[(i+k)%n].usable(); c != nil {
			return c, nil
		}
	}
	return nil, ErrNoConn
}

// PickKey returns the connection for key (key affinity): the same key
// goes to the same connection while the member list and their health do
// not change; if that one is unusable the next usable one is taken.
func (p *Pool) PickKey(key uint64) (*rpc.Client, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	ms := *p.members.Load()
	n := len(ms)
	if n == 0 {
		return nil, ErrNoConn
	}
	start := jump(key, n)
	for k := range n {
		if c := ms[(start+k)%n].usable(); c != nil {
			return c, nil
		}
	}
	return nil, ErrNoConn
}

// jump is Lamping and Veach's jump consistent hash.
func jump(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// CallOption changes how one Pool.Call behaves.
type CallOption struct {
	waitForReady bool
}

// WaitForReady makes a call wait, bounded by its ctx, while no
// connection is usable (during startup, a drain, a restart) instead of
// failing at once with ErrNoConn, and tries a call refused as not
// processed (errors.Is rpc.ErrUnavailable: a draining or overloaded
// server, a connection closed before the request left) again until ctx
// ends, after MaxAttempts tries with a jittered backoff between them
// (Pool.Call). grpc-go's WaitForReady retries only an RPC its transport
// failed to send; this Pool also retries the server's refusals, which by
// rpc's contract were not processed. A call that may have run
// (rpc.ErrClosed) is never tried again.
func WaitForReady() CallOption { return CallOption{waitForReady: true} }

// Call picks a connection and calls method on it (see rpc.Client.Call).
// A call refused as not processed (errors.Is rpc.ErrUnavailable: the
// server is draining or overloaded, the connection closed before the
// request left) is tried again on another pick, up to
// Options.MaxAttempts tries in all while ctx lasts; a call that may have
// run (rpc.ErrClosed) is never retried. With WaitForReady the call waits
// for a usable connection instead of failing with ErrNoConn, and a refusal
// as not processed is tried again while ctx lasts, not MaxAttempts times:
// after MaxAttempts refusals in a row it waits a jittered backoff between
// tries (MinBackoff doubling up to MaxBackoff, as redials do), so callers
// riding out an overloaded or draining server do not hammer it (a
// connection that looked ready but was closed by a restarting server
// before the request left is such a refusal too).
func (p *Pool) Call(ctx context.Context, method uint32, req, dst []byte, opts ...CallOption) ([]byte, error) {
	wait := false
	for _, o := range opts {
		wait = wait || o.waitForReady
	}
	var err error
	n := len(dst)
	backoff := p.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		var c *rpc.Client
		if wait {
			c, err = p.pickWait(ctx)
		} else {
			c, err = p.Pick()
		}
		if err != nil {
			return dst, err
		}
		dst, err = c.Call(ctx, method, req, dst[:n])
		if err == nil || !errors.Is(err, rpc.ErrUnavailable) || ctx.Err() != nil {
			return dst, err
		}
		dst = dst[:n]
		if attempt < p.opts.MaxAttempts {
			continue
		}
		if !wait {
			return dst, err
		}
		// Full jitter: a random delay up to the current backoff.
		if werr := p.pause(ctx, time.Duration(rand.Int64N(int64(backoff))+1)); werr != nil {
			return dst, werr
		}
		backoff = min(backoff*2, p.opts.MaxBackoff)
	}
}

// pause waits d, ctx's end (its error) or the Pool's close (ErrClosed),
// whichever comes first.
func (p *Pool) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return ErrClosed
	case <-t.C:
		return nil
	}
}

// Addrs returns the addresses of the members, one per connection.
func (p *Pool) Addrs() []string {
	var out []string
	for _, m := range *p.members.Load() {
		out = append(out, m.addr)
	}
	slices.Sort(out)
	return out
}

// Dials returns how many dials the pool has made (reconnects included).
func (p *Pool) Dials() uint64 {
	var n uint64
	for _, m := range *p.members.Load() {
		n += m.dials.Load()
	}
	return n
}

// Close closes every connection and waits for the pool's goroutines.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed.Store(true)
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}
