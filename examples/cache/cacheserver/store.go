// Package cacheserver is the cache example's service: an in-memory
// key-value store with expiry and prefix watches, implementing
// cachepb.CacheServer (examples/cache, docs/guide.md).
package cacheserver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Limits of a Store; each has a default (Options' zero value).
const (
	DefaultMaxKey      = 1 << 10 // bytes
	DefaultMaxValue    = 1 << 20 // bytes
	DefaultMaxEntries  = 1 << 20
	DefaultMaxWatchers = 1024
	// DefaultWatchBuffer is the events a watcher may fall behind by
	// before its watch ends with rpc.CodeResourceExhausted (a slow
	// watcher never holds the writers up).
	DefaultWatchBuffer = 256
)

// Options bounds a Store. The zero value uses the defaults.
type Options struct {
	MaxKey, MaxValue, MaxEntries, MaxWatchers, WatchBuffer int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Store is the Cache service's state. It is safe for concurrent use.
type Store struct {
	opts     Options
	mu       sync.RWMutex
	items    map[string]entry
	watchers map[*watcher]struct{}
}

type entry struct {
	value   []byte // owned by the store, never modified after Set
	expires int64  // unix nanoseconds; 0: never
}

// event is one change sent to watchers; value is shared, read-only.
type event struct {
	kind  cachepb.EventKind
	key   string
	value []byte
}

type watcher struct {
	prefix   string
	ch       chan event
	overflow bool // set under Store.mu when ch was full; ch is then closed
}

// New returns an empty Store.
func New(opts Options) *Store {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxKey, DefaultMaxKey)
	def(&opts.MaxValue, DefaultMaxValue)
	def(&opts.MaxEntries, DefaultMaxEntries)
	def(&opts.MaxWatchers, DefaultMaxWatchers)
	def(&opts.WatchBuffer, DefaultWatchBuffer)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{opts: opts, items: map[string]entry{}, watchers: map[*watcher]struct{}{}}
}

var _ cachepb.CacheServer = (*Store)(nil)

func (s *Store) expired(e entry, now int64) bool { return e.expires != 0 && now >= e.expires }

// Get answers the value of a key; a missing or expired key is
// found = false. It allocates nothing.
func (s *Store) Get(_ context.Context, req cachepb.GetRequest, resp *cachepb.GetResponseBuilder) error {
	now := s.opts.Now().UnixNano()
	s.mu.RLock()
	e, ok := s.items[string(req.KeyBytes())] // no allocation: the compiler looks up without a copy
	if ok && s.expired(e, now) {
		ok = false
	}
	if !ok {
		s.mu.RUnlock()
		resp.SetFound(false)
		return nil
	}
	var ttl uint32
	if e.expires != 0 {
		ttl = uint32(min((e.expires-now+int64(time.Millisecond)-1)/int64(time.Millisecond), 1<<32-1))
	}
	resp.SetFound(true).SetTtlMs(ttl).SetValue(e.value)
	s.mu.RUnlock()
	return nil
}

func (s *Store) checkKey(key []byte) error {
	if len(key) == 0 || len(key) > s.opts.MaxKey {
		return rpc.NewError(rpc.CodeInvalidArgument, "cache: key must be 1.."+itoa(s.opts.MaxKey)+" bytes")
	}
	return nil
}

// Set stores a copy of the value, for ttl_ms milliseconds (0: no expiry).
func (s *Store) Set(_ context.Context, req cachepb.SetRequest, resp *cachepb.SetResponseBuilder) error {
	if err := s.checkKey(req.KeyBytes()); err != nil {
		return err
	}
	if len(req.Value()) > s.opts.MaxValue {
		return rpc.NewError(rpc.CodeInvalidArgument, "cache: value over "+itoa(s.opts.MaxValue)+" bytes")
	}
	now := s.opts.Now().UnixNano()
	e := entry{value: append([]byte(nil), req.Value()...)}
	if t := req.TtlMs(); t > 0 {
		e.expires = now + int64(t)*int64(time.Millisecond)
	}
	key := req.Key()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, replaced := s.items[key]
	replaced = replaced && !s.expired(old, now)
	if !replaced && len(s.items) >= s.opts.MaxEntries {
		return rpc.NewError(rpc.CodeResourceExhausted, "cache: full ("+itoa(s.opts.MaxEntries)+" entries)")
	}
	s.items[key] = e
	s.notifyLocked(event{cachepb.EventKindSet, key, e.value})
	resp.SetReplaced(replaced)
	return nil
}

// Delete removes a key.
func (s *Store) Delete(_ context.Context, req cachepb.DeleteRequest, resp *cachepb.DeleteResponseBuilder) error {
	now := s.opts.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[string(req.KeyBytes())]
	if ok {
		key := req.Key()
		delete(s.items, key)
		if s.expired(e, now) {
			s.notifyLocked(event{cachepb.EventKindExpired, key, nil})
			ok = false
		} else {
			s.notifyLocked(event{cachepb.EventKindDeleted, key, nil})
		}
	}
	resp.SetDeleted(ok)
	return nil
}

// Touch resets a key's expiry to the request's ttl_ms (fire-and-forget:
// errors are dropped by the server).
func (s *Store) Touch(_ context.Context, req cachepb.SetRequest) error {
	now := s.opts.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[string(req.KeyBytes())]
	if !ok || s.expired(e, now) {
		return nil
	}
	e.expires = 0
	if t := req.TtlMs(); t > 0 {
		e.expires = now + int64(t)*int64(time.Millisecond)
	}
	s.items[req.Key()] = e
	return nil
}

// Expire removes the expired keys, telling their watchers; run it now and
// then (Serve's janitor does).
func (s *Store) Expire() int {
	now := s.opts.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.items {
		if s.expired(e, now) {
			delete(s.items, k)
			s.notifyLocked(event{cachepb.EventKindExpired, k, nil})
			n++
		}
	}
	return n
}

// notifyLocked hands ev to the watchers of its key; a watcher whose
// buffer is full is dropped (its watch ends with CodeResourceExhausted).
func (s *Store) notifyLocked(ev event) {
	for w := range s.watchers {
		if !strings.HasPrefix(ev.key, w.prefix) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			w.overflow = true
			close(w.ch)
			delete(s.watchers, w)
		}
	}
}

// Watch streams the changes of the keys under the request's prefix until
// the client cancels, the server drains (the stream then ends normally),
// or the watcher falls DefaultWatchBuffer events behind.
func (s *Store) Watch(ctx context.Context, req cachepb.WatchRequest, stream *cachepb.CacheWatchServerStream) error {
	w := &watcher{prefix: req.Prefix(), ch: make(chan event, s.opts.WatchBuffer)}
	s.mu.Lock()
	if len(s.watchers) >= s.opts.MaxWatchers {
		s.mu.Unlock()
		return rpc.NewError(rpc.CodeResourceExhausted, "cache: too many watchers")
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stream.Draining():
			return nil
		case ev, ok := <-w.ch:
			if !ok {
				return rpc.NewError(rpc.CodeResourceExhausted, "cache: watcher fell behind")
			}
			if err := stream.Send(stream.Begin().SetKind(ev.kind).SetKey(ev.key).SetValue(ev.value)); err != nil {
				return err
			}
		}
	}
}

// Watchers is the number of watches in progress.
func (s *Store) Watchers() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.watchers)
}

func itoa(n int) string { return strconv.Itoa(n) }
