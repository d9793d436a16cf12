package balance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Defaults for DNSOptions fields left zero.
const (
	DefaultDNSInterval    = 30 * time.Second
	DefaultDNSMinInterval = time.Second
	DefaultDNSLinger      = 60 * time.Second
	DefaultDNSMaxAddrs    = 64
	DefaultDNSTimeout     = 5 * time.Second
	// MaxDNSAddrs is the largest DNSOptions.MaxAddrs.
	MaxDNSAddrs = 4096
)

// DNS errors.
var (
	// ErrDNSTarget: NewDNS's target is neither host:port nor an SRV name.
	ErrDNSTarget = errors.New("balance: invalid DNS target")
	// ErrNoAddrs: no lookup has given an address yet. It wraps the
	// lookup's own error, if any (a *net.DNSError).
	ErrNoAddrs = errors.New("balance: DNS gave no addresses")
)

// DNSOptions configures a DNS resolver. The zero value works.
type DNSOptions struct {
	// Resolver makes the lookups. Nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Network is "ip" (A and AAAA), "ip4" (A) or "ip6" (AAAA). Empty
	// means "ip".
	Network string
	// Interval is how often the name is looked up again. Zero means
	// DefaultDNSInterval.
	Interval time.Duration
	// MinInterval is the least time between two lookups, also those
	// asked for by ReResolve (connection failures). Zero means
	// DefaultDNSMinInterval.
	MinInterval time.Duration
	// Linger is how long an address stays in the set after it was last
	// seen in an answer: answers that flap or rotate through a fleet do
	// not make the Pool close and redial connections. Zero means
	// DefaultDNSLinger.
	Linger time.Duration
	// MaxAddrs caps the set. Of a larger answer each DNS keeps a subset
	// chosen by a hash with its own random seed, so it is stable from
	// lookup to lookup while different clients spread over the fleet.
	// Zero means DefaultDNSMaxAddrs; at most MaxDNSAddrs.
	MaxAddrs int
	// Timeout bounds one lookup (an SRV lookup and its targets' address
	// lookups together). Zero means DefaultDNSTimeout.
	Timeout time.Duration
}

// Validate reports the first bad field.
func (o DNSOptions) Validate() error {
	bad := func(f string, v int64, why string) error {
		return fmt.Errorf("%w: %s = %d: %s", ErrInvalidOptions, f, v, why)
	}
	switch {
	case o.Network != "" && o.Network != "ip" && o.Network != "ip4" && o.Network != "ip6":
		return fmt.Errorf("%w: Network = %q: must be \"\", \"ip\", \"ip4\" or \"ip6\"", ErrInvalidOptions, o.Network)
	case o.Interval < 0:
		return bad("Interval", int64(o.Interval), "must not be negative")
	case o.MinInterval < 0:
		return bad("MinInterval", int64(o.MinInterval), "must not be negative")
	case o.Linger < 0:
		return bad("Linger", int64(o.Linger), "must not be negative")
	case o.MaxAddrs < 0 || o.MaxAddrs > MaxDNSAddrs:
		return bad("MaxAddrs", int64(o.MaxAddrs), "must be 0..MaxDNSAddrs")
	case o.Timeout < 0:
		return bad("Timeout", int64(o.Timeout), "must not be negative")
	}
	return nil
}

// DNSStats counts a DNS resolver's work.
type DNSStats struct {
	Lookups  uint64 // lookups made
	Failures uint64 // lookups that failed or answered no address (the set was kept)
	Added    uint64 // addresses added to the set
	Removed  uint64 // addresses removed after Linger
}

// DNS is a Resolver that follows a DNS name: a pool given one dials the
// servers the name points at and follows the fleet as it changes (a
// Kubernetes headless service, say). It looks the name up again every
// Interval and, at most every MinInterval, after ReResolve (or a call
// failure its Interceptor saw); between lookups Resolve returns the set it
// holds, so the Pool's Refresh can be short.
//
// Bad answers have fixed fallbacks: an error, an empty answer or NXDOMAIN
// keeps the last good set (and counts in Failures); an answer over
// MaxAddrs is cut to a stable subset; an address missing from answers
// stays Linger before it is removed, so flapping answers cost at most
// MaxAddrs new addresses per Linger. Only the first lookups can fail
// Resolve (with ErrNoAddrs), as there is no set to keep yet.
type DNS struct {
	host, port string // A/AAAA mode
	srvName    string // SRV mode
	opts       DNSOptions
	seed       maphash.Seed

	lookupMu sync.Mutex // one lookup at a time
	mu       sync.Mutex
	seen     map[string]time.Time // address -> last seen in an answer
	last     time.Time            // the last lookup's start
	stale    bool                 // ReResolve was called
	lastErr  error
	stats    DNSStats
}

// NewDNS returns a DNS resolver for target: "host:port" looks up the
// host's A/AAAA records and dials port on each; a name starting with "_"
// and no port ("_grpc._tcp.backend.example.") looks up its SRV records
// and the addresses of their targets, with their ports (priority and
// weight are not used: the Pool balances by load). A host that is an IP
// address needs no lookup. A name ending in "." is not subject to the
// system's search domains.
func NewDNS(target string, opts DNSOptions) (*DNS, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	d := &DNS{opts: opts, seed: maphash.MakeSeed(), seen: map[string]time.Time{}}
	if strings.HasPrefix(target, "_") && !strings.Contains(target, ":") {
		d.srvName = target
	} else {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrDNSTarget, target, err)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return nil, fmt.Errorf("%w: %q: port must be 1..65535", ErrDNSTarget, target)
		}
		if host == "" {
			return nil, fmt.Errorf("%w: %q: empty host", ErrDNSTarget, target)
		}
		d.host, d.port = host, port
	}
	if d.opts.Resolver == nil {
		d.opts.Resolver = net.DefaultResolver
	}
	if d.opts.Network == "" {
		d.opts.Network = "ip"
	}
	if d.opts.Interval == 0 {
		d.opts.Interval = DefaultDNSInterval
	}
	if d.opts.MinInterval == 0 {
		d.opts.MinInterval = min(DefaultDNSMinInterval, d.opts.Interval)
	}
	if d.opts.Linger == 0 {
		d.opts.Linger = DefaultDNSLinger
	}
	if d.opts.MaxAddrs == 0 {
		d.opts.MaxAddrs = DefaultDNSMaxAddrs
	}
	if d.opts.Timeout == 0 {
		d.opts.Timeout = DefaultDNSTimeout
	}
	return d, nil
}

// Resolve returns the set, looking the name up first when it is due.
func (d *DNS) Resolve(ctx context.Context) ([]string, error) {
	if d.due(time.Now()) {
		d.lookup(ctx)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		if d.lastErr != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoAddrs, d.lastErr)
		}
		return nil, ErrNoAddrs
	}
	return d.listLocked(), nil
}

// ReResolve asks for a lookup at the next Resolve (at most every
// MinInterval): call it when connections fail.
func (d *DNS) ReResolve() {
	d.mu.Lock()
	d.stale = true
	d.mu.Unlock()
}

// Interceptor returns a client interceptor that calls ReResolve when a
// call fails because its connection closed (rpc.ErrClosed) or its server
// is draining (rpc.ErrUnavailable). Put it in the Pool's
// Options.Client.Interceptor.
func (d *DNS) Interceptor() rpc.ClientInterceptor {
	return func(ctx context.Context, method uint32, md rpc.Metadata, req, dst []byte, invoke rpc.Invoker) ([]byte, error) {
		out, err := invoke(ctx, method, md, req, dst)
		if err != nil && (errors.Is(err, rpc.ErrClosed) || errors.Is(err, rpc.ErrUnavailable)) {
			d.ReResolve()
		}
		return out, err
	}
}

// Stats returns the counters.
func (d *DNS) Stats() DNSStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *DNS) due(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	since := now.Sub(d.last)
	switch {
	case d.last.IsZero():
		return true
	case since >= d.opts.Interval:
		return true
	case (d.stale || len(d.seen) == 0) && since >= d.opts.MinInterval:
		return true // asked for, or nothing to serve yet
	}
	return false
}

func (d *DNS) lookup(ctx context.Context) {
	if !d.lookupMu.TryLock() {
		return // another Resolve is looking up: use the set it leaves
	}
	defer d.lookupMu.Unlock()
	start := time.Now()
	d.mu.Lock()
	d.last = start
	d.stale = false
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	addrs, err := d.query(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Lookups++
	if len(addrs) == 0 {
		d.stats.Failures++
		d.lastErr = err
		return // keep the last good set
	}
	d.lastErr = nil
	d.merge(addrs, start)
}

// query returns the addresses of one answer (deduplicated), or an error
// and possibly some addresses (an SRV answer whose targets partly failed).
func (d *DNS) query(ctx context.Context) ([]string, error) {
	r := d.opts.Resolver
	if d.srvName == "" {
		ips, err := r.LookupNetIP(ctx, d.opts.Network, d.host)
		return d.join(nil, ips, d.port), err
	}
	_, srvs, err := r.LookupSRV(ctx, "", "", d.srvName)
	// On malformed records LookupSRV returns the valid ones and an
	// error: use what is valid.
	var out []string
	targets := 0
	for _, s := range srvs {
		if s.Port == 0 || s.Target == "." || s.Target == "" {
			continue // "no service here" and invalid records
		}
		if targets == d.opts.MaxAddrs {
			break // each target is a lookup: a huge answer costs at most MaxAddrs
		}
		targets++
		ips, lerr := r.LookupNetIP(ctx, d.opts.Network, s.Target)
		if lerr != nil {
			err = lerr
			continue
		}
		out = d.join(out, ips, strconv.Itoa(int(s.Port)))
	}
	return out, err
}

func (d *DNS) join(out []string, ips []netip.Addr, port string) []string {
	for _, ip := range ips {
		a := net.JoinHostPort(ip.Unmap().String(), port)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// merge updates the set with one good answer seen at now: present
// addresses are refreshed, those unseen for Linger removed, and new ones
// added while there is room, lowest hash first.
func (d *DNS) merge(addrs []string, now time.Time) {
	var fresh []string
	for _, a := range addrs {
		if _, ok := d.seen[a]; ok {
			d.seen[a] = now
		} else {
			fresh = append(fresh, a)
		}
	}
	for a, t := range d.seen {
		if now.Sub(t) >= d.opts.Linger {
			delete(d.seen, a)
			d.stats.Removed++
		}
	}
	d.sortByHash(fresh)
	for _, a := range fresh {
		if len(d.seen) >= d.opts.MaxAddrs {
			break
		}
		d.seen[a] = now
		d.stats.Added++
	}
}

func (d *DNS) sortByHash(addrs []string) {
	slices.SortFunc(addrs, func(a, b string) int {
		return cmp.Compare(maphash.String(d.seed, a), maphash.String(d.seed, b))
	})
}

// listLocked returns the set in hash order (stable while it holds the
// same addresses, which keeps PickKey's affinity).
func (d *DNS) listLocked() []string {
	out := make([]string, 0, len(d.seen))
	for a := range d.seen {
		out = append(out, a)
	}
	d.sortByHash(out)
	return out
}
