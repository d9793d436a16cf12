package pool

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Defaults for [Options] fields left zero.
const (
	DefaultMinSlabSize  = 4 << 10  // smallest size class
	DefaultMaxSlabSize  = 1 << 20  // largest size class
	DefaultMaxIdleBytes = 32 << 20 // idle memory kept for reuse
)

// maxClassSize bounds Options.MaxSlabSize so class arithmetic stays small.
const maxClassSize = 1 << 30

// Options configures a [SlabPool]. The zero value is valid and means the
// defaults.
type Options struct {
	// MinSlabSize is the smallest size class, a power of two.
	// Zero means DefaultMinSlabSize.
	MinSlabSize int
	// MaxSlabSize is the largest size class, a power of two not below
	// MinSlabSize. Bigger requests get exact-size slabs that are never
	// pooled. Zero means DefaultMaxSlabSize.
	MaxSlabSize int
	// MaxIdleBytes caps the bytes of released slabs kept for reuse; slabs
	// released past the cap are dropped for the garbage collector. Zero
	// means DefaultMaxIdleBytes; a negative value keeps nothing idle.
	MaxIdleBytes int64
}

// ensureDefaults fills zero fields with the defaults.
func (o *Options) ensureDefaults() {
	if o.MinSlabSize == 0 {
		o.MinSlabSize = DefaultMinSlabSize
	}
	if o.MaxSlabSize == 0 {
		o.MaxSlabSize = DefaultMaxSlabSize
		if o.MinSlabSize > o.MaxSlabSize {
			o.MaxSlabSize = o.MinSlabSize
		}
	}
	if o.MaxIdleBytes == 0 {
		o.MaxIdleBytes = DefaultMaxIdleBytes
	}
}

// Validate reports the first bad field as an *[OptionError] (which matches
// [ErrInvalidOptions]). Zero fields are valid: they mean the defaults.
func (o Options) Validate() error {
	o.ensureDefaults()
	switch {
	case o.MinSlabSize < 0 || bits.OnesCount(uint(o.MinSlabSize)) != 1:
		return &OptionError{"MinSlabSize", int64(o.MinSlabSize), "must be a positive power of two"}
	case o.MaxSlabSize < 0 || bits.OnesCount(uint(o.MaxSlabSize)) != 1:
		return &OptionError{"MaxSlabSize", int64(o.MaxSlabSize), "must be a positive power of two"}
	case o.MaxSlabSize < o.MinSlabSize:
		return &OptionError{"MaxSlabSize", int64(o.MaxSlabSize), "must not be below MinSlabSize"}
	case o.MaxSlabSize > maxClassSize:
		return &OptionError{"MaxSlabSize", int64(o.MaxSlabSize), "must not exceed 1 GiB"}
	}
	return nil
}

// Stats is a snapshot of a [SlabPool]'s counters.
type Stats struct {
	SlabsInUse int64  // slabs handed out and not yet finally released
	BytesInUse int64  // capacity of those slabs
	IdleBytes  int64  // capacity of released slabs kept for reuse
	Gets       uint64 // calls to Get
	Misses     uint64 // Gets that had to allocate a new slab
	Drops      uint64 // final Releases whose slab was dropped, not kept
}

// SlabPool hands out reference-counted [Slab]s in power-of-two size classes
// and keeps released ones, up to Options.MaxIdleBytes, for reuse. It is safe
// for concurrent use. Get and the last Release take a short per-class lock;
// Stats takes none.
type SlabPool struct {
	opts     Options
	minShift int
	classes  []sizeClass

	slabsInUse atomic.Int64
	bytesInUse atomic.Int64
	idleBytes  atomic.Int64
	gets       atomic.Uint64
	misses     atomic.Uint64
	drops      atomic.Uint64
}

// sizeClass is the free list of one size class, padded against false
// sharing between classes.
type sizeClass struct {
	mu   sync.Mutex
	size int
	free []*Slab
	_    [32]byte
}

// NewSlabPool returns a pool configured by opts. It panics with the
// *OptionError if opts.Validate fails; validate user-supplied values first.
func NewSlabPool(opts Options) *SlabPool {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts.ensureDefaults()
	p := &SlabPool{opts: opts, minShift: bits.TrailingZeros(uint(opts.MinSlabSize))}
	n := bits.TrailingZeros(uint(opts.MaxSlabSize)) - p.minShift + 1
	p.classes = make([]sizeClass, n)
	for i := range p.classes {
		p.classes[i].size = opts.MinSlabSize << i
	}
	return p
}

var defaultPool = NewSlabPool(Options{})

// Default returns the package-level pool, configured with the defaults.
func Default() *SlabPool { return defaultPool }

// Get returns a slab of the default pool; see [SlabPool.Get].
func Get(n int) *Slab { return defaultPool.Get(n) }

// Options returns the pool's options with defaults filled in.
func (p *SlabPool) Options() Options { return p.opts }

// Get returns a slab whose Bytes are at least n long (n rounded up to its
// size class, or exactly n above Options.MaxSlabSize), holding one
// reference. The contents are unspecified. It panics if n is negative.
func (p *SlabPool) Get(n int) *Slab {
	if n < 0 {
		panic("pool: Get with negative size")
	}
	p.gets.Add(1)
	var s *Slab
	if n > p.opts.MaxSlabSize {
		s = &Slab{pool: p, class: -1, buf: make([]byte, n)}
		p.misses.Add(1)
	} else {
		ci := 0
		if n > p.opts.MinSlabSize {
			ci = bits.Len(uint(n-1)) - p.minShift
		}
		c := &p.classes[ci]
		c.mu.Lock()
		if k := len(c.free); k > 0 {
			s = c.free[k-1]
			c.free[k-1] = nil
			c.free = c.free[:k-1]
		}
		c.mu.Unlock()
		if s != nil {
			p.idleBytes.Add(-int64(len(s.buf)))
		} else {
			s = &Slab{pool: p, class: int32(ci), buf: make([]byte, c.size)}
			p.misses.Add(1)
		}
	}
	s.refs.Store(1)
	p.slabsInUse.Add(1)
	p.bytesInUse.Add(int64(len(s.buf)))
	return s
}

// put takes a slab whose last reference was just dropped.
func (p *SlabPool) put(s *Slab) {
	size := int64(len(s.buf))
	p.slabsInUse.Add(-1)
	p.bytesInUse.Add(-size)
	if debug {
		// Poisoned slabs are never reused: every later use must panic.
		poison(s.buf)
		p.drops.Add(1)
		return
	}
	if s.class < 0 || p.opts.MaxIdleBytes < 0 {
		p.drops.Add(1)
		return
	}
	if p.idleBytes.Add(size) > p.opts.MaxIdleBytes {
		p.idleBytes.Add(-size)
		p.drops.Add(1)
		return
	}
	c := &p.classes[s.class]
	c.mu.Lock()
	c.free = append(c.free, s)
	c.mu.Unlock()
}

// Trim drops every idle slab for the garbage collector.
func (p *SlabPool) Trim() {
	for i := range p.classes {
		c := &p.classes[i]
		c.mu.Lock()
		for j, s := range c.free {
			p.idleBytes.Add(-int64(len(s.buf)))
			p.drops.Add(1)
			c.free[j] = nil
		}
		c.free = nil
		c.mu.Unlock()
	}
}

// Stats returns a snapshot of the counters, read with atomic loads (the
// fields are not read at one instant, so they may disagree slightly while
// other goroutines use the pool).
func (p *SlabPool) Stats() Stats {
	return Stats{
		SlabsInUse: p.slabsInUse.Load(),
		BytesInUse: p.bytesInUse.Load(),
		IdleBytes:  p.idleBytes.Load(),
		Gets:       p.gets.Load(),
		Misses:     p.misses.Load(),
		Drops:      p.drops.Load(),
	}
}

// Slab is a pooled byte buffer with an atomic reference count. Get returns
// it with one reference; every Retain must be matched by one Release, and
// the last Release returns it to its pool. Its methods are safe for
// concurrent use.
type Slab struct {
	buf   []byte
	pool  *SlabPool
	refs  atomic.Int32
	class int32 // index into pool.classes, or -1 for an exact-size slab
}

// Bytes returns the slab's memory: at least the size asked of Get. It is
// valid until the last Release; do not keep it (or any slice of it) past
// that. Under the psdebug tag it panics after the last Release.
func (s *Slab) Bytes() []byte {
	if debug && s.refs.Load() <= 0 {
		panic(MsgUseAfterRelease)
	}
	return s.buf
}

// Cap returns len(s.Bytes()) without the psdebug check.
func (s *Slab) Cap() int { return len(s.buf) }

// Refs returns the current reference count, for tests and assertions.
func (s *Slab) Refs() int { return int(s.refs.Load()) }

// Retain adds a reference. It panics if the slab was already finally
// released (always detected under psdebug, detected without it only while
// the slab is idle in its pool).
func (s *Slab) Retain() {
	if s.refs.Add(1) <= 1 {
		s.refs.Add(-1)
		panic(MsgRetainAfterRelease)
	}
}

// Release drops a reference; the last one returns the slab to its pool (or
// drops it, past the idle cap). A Release after the last one panics when
// detected (see Retain).
func (s *Slab) Release() {
	n := s.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		s.refs.Add(1)
		panic(MsgDoubleRelease)
	}
	s.pool.put(s)
}
