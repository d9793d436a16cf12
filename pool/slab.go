package pool

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Defaults for [Options] fields left zero.
const (
	DefaultMinSlabSize       = 4 << 10  // smallest size class
	DefaultMaxSlabSize       = 1 << 20  // largest power-of-two size class
	DefaultMaxIdleBytes      = 32 << 20 // idle memory kept for reuse in the power-of-two classes
	DefaultMaxLargeSize      = 64 << 20 // largest large class
	DefaultMaxIdleLargeBytes = 32 << 20 // idle memory kept for reuse in the large classes
)

// largeSteps is how many large classes each doubling above MaxSlabSize
// has: sizes base*(1+k/4), so a large slab is at most 25% bigger than asked
// (a 1 MiB payload plus its header takes 1.25 MiB, not 2).
const largeSteps = 4

// maxClassSize bounds Options.MaxSlabSize so class arithmetic stays small.
const maxClassSize = 1 << 30

// Options configures a [SlabPool]. The zero value is valid and means the
// defaults.
type Options struct {
	// MinSlabSize is the smallest size class, a power of two.
	// Zero means DefaultMinSlabSize.
	MinSlabSize int
	// MaxSlabSize is the largest power-of-two size class, a power of two
	// not below MinSlabSize. Bigger requests get large slabs. Zero means
	// DefaultMaxSlabSize.
	MaxSlabSize int
	// MaxIdleBytes caps the bytes of released slabs of the power-of-two
	// classes kept for reuse; slabs released past the cap are dropped for
	// the garbage collector. Zero means DefaultMaxIdleBytes; a negative
	// value keeps nothing idle.
	MaxIdleBytes int64
	// MaxLargeSize is the largest large class, a power of two not below
	// MaxSlabSize. Requests above MaxSlabSize up to it are served from
	// large classes, four per doubling (1.25, 1.5, 1.75 and 2 times a power
	// of two); bigger ones get exact-size slabs that are never pooled.
	// Zero means DefaultMaxLargeSize (or MaxSlabSize, if that is larger).
	MaxLargeSize int
	// MaxIdleLargeBytes caps the bytes of released large slabs kept for
	// reuse, apart from MaxIdleBytes, so that a few large frames cannot
	// crowd small slabs out of the pool (nor the reverse). Zero means
	// DefaultMaxIdleLargeBytes; a negative value keeps no large slab idle.
	MaxIdleLargeBytes int64
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
	if o.MaxLargeSize == 0 {
		o.MaxLargeSize = max(DefaultMaxLargeSize, o.MaxSlabSize)
	}
	if o.MaxIdleLargeBytes == 0 {
		o.MaxIdleLargeBytes = DefaultMaxIdleLargeBytes
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
	case o.MaxLargeSize < 0 || bits.OnesCount(uint(o.MaxLargeSize)) != 1:
		return &OptionError{"MaxLargeSize", int64(o.MaxLargeSize), "must be a positive power of two"}
	case o.MaxLargeSize < o.MaxSlabSize:
		return &OptionError{"MaxLargeSize", int64(o.MaxLargeSize), "must not be below MaxSlabSize"}
	case o.MaxLargeSize > maxClassSize:
		return &OptionError{"MaxLargeSize", int64(o.MaxLargeSize), "must not exceed 1 GiB"}
	}
	return nil
}

// Stats is a snapshot of a [SlabPool]'s counters.
type Stats struct {
	SlabsInUse     int64  // slabs handed out and not yet finally released
	BytesInUse     int64  // capacity of those slabs
	IdleBytes      int64  // capacity of released slabs kept for reuse (all classes)
	IdleLargeBytes int64  // the part of IdleBytes in large classes
	Gets           uint64 // calls to Get
	Misses         uint64 // Gets that had to allocate a new slab
	Drops          uint64 // final Releases whose slab was dropped, not kept
}

// SlabPool hands out reference-counted [Slab]s in power-of-two size classes
// up to Options.MaxSlabSize and large classes (four per doubling) up to
// Options.MaxLargeSize, and keeps released ones for reuse, up to
// Options.MaxIdleBytes and Options.MaxIdleLargeBytes. It is safe for
// concurrent use. Get and the last Release take a short per-class lock;
// Stats takes none.
type SlabPool struct {
	opts     Options
	minShift int
	maxShift int // log2(MaxSlabSize)
	nSmall   int // power-of-two classes; large ones follow in classes
	classes  []sizeClass

	slabsInUse atomic.Int64
	bytesInUse atomic.Int64
	idleBytes  atomic.Int64
	idleLarge  atomic.Int64
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
	p := &SlabPool{
		opts:     opts,
		minShift: bits.TrailingZeros(uint(opts.MinSlabSize)),
		maxShift: bits.TrailingZeros(uint(opts.MaxSlabSize)),
	}
	p.nSmall = p.maxShift - p.minShift + 1
	nLarge := (bits.TrailingZeros(uint(opts.MaxLargeSize)) - p.maxShift) * largeSteps
	p.classes = make([]sizeClass, p.nSmall+nLarge)
	for i := range p.nSmall {
		p.classes[i].size = opts.MinSlabSize << i
	}
	for i := range nLarge {
		base := opts.MaxSlabSize << (i / largeSteps)
		p.classes[p.nSmall+i].size = base + (i%largeSteps+1)*(base/largeSteps)
	}
	return p
}

// classOf returns the index of the smallest class holding n bytes, or -1
// when n is above every class.
func (p *SlabPool) classOf(n int) int {
	switch {
	case n <= p.opts.MinSlabSize:
		return 0
	case n <= p.opts.MaxSlabSize:
		return bits.Len(uint(n-1)) - p.minShift
	case n <= p.opts.MaxLargeSize:
		shift := bits.Len(uint(n-1)) - 1 // base := 1<<shift < n <= 2*base
		quarter := 1 << shift / largeSteps
		k := (n - 1<<shift + quarter - 1) / quarter // 1..largeSteps
		return p.nSmall + (shift-p.maxShift)*largeSteps + k - 1
	}
	return -1
}

var defaultPool = NewSlabPool(Options{})

// Default returns the package-level pool, configured with the defaults.
func Default() *SlabPool { return defaultPool }

// Get returns a slab of the default pool; see [SlabPool.Get].
func Get(n int) *Slab { return defaultPool.Get(n) }

// Options returns the pool's options with defaults filled in.
func (p *SlabPool) Options() Options { return p.opts }

// Get returns a slab whose Bytes are at least n long (n rounded up to its
// size class, or exactly n above Options.MaxLargeSize), holding one
// reference. The contents are unspecified. It panics if n is negative.
func (p *SlabPool) Get(n int) *Slab {
	if n < 0 {
		panic("pool: Get with negative size")
	}
	p.gets.Add(1)
	var s *Slab
	if ci := p.classOf(n); ci < 0 {
		s = &Slab{pool: p, class: -1, buf: make([]byte, n)}
		p.misses.Add(1)
	} else {
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
			if ci >= p.nSmall {
				p.idleLarge.Add(-int64(len(s.buf)))
			}
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
	if s.class < 0 {
		p.drops.Add(1)
		return
	}
	idle, limit := &p.idleBytes, p.opts.MaxIdleBytes
	large := int(s.class) >= p.nSmall
	if large {
		idle, limit = &p.idleLarge, p.opts.MaxIdleLargeBytes
	}
	if limit < 0 || idle.Add(size) > limit {
		if limit >= 0 {
			idle.Add(-size)
		}
		p.drops.Add(1)
		return
	}
	if large {
		p.idleBytes.Add(size) // the total
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
			if i >= p.nSmall {
				p.idleLarge.Add(-int64(len(s.buf)))
			}
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
		SlabsInUse:     p.slabsInUse.Load(),
		BytesInUse:     p.bytesInUse.Load(),
		IdleBytes:      p.idleBytes.Load(),
		IdleLargeBytes: p.idleLarge.Load(),
		Gets:           p.gets.Load(),
		Misses:         p.misses.Load(),
		Drops:          p.drops.Load(),
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
