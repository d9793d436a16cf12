package pool_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
)

func TestGetSizeClasses(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	tests := []struct {
		ask, want int
	}{
		{0, 4 << 10},
		{1, 4 << 10},
		{4 << 10, 4 << 10},
		{4<<10 + 1, 8 << 10},
		{100 << 10, 128 << 10},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 5 << 18}, // large classes: four per doubling
		{5 << 18, 5 << 18},
		{5<<18 + 1, 6 << 18},
		{2 << 20, 2 << 20},
		{2<<20 + 1, 5 << 19},
		{3 << 20, 3 << 20},
		{4<<20 + 24, 5 << 20}, // a 4 MiB payload and its header
		{63 << 20, 64 << 20},
		{64 << 20, 64 << 20},
		{64<<20 + 1, 64<<20 + 1}, // exact-size above the largest class
	}
	for _, tt := range tests {
		s := p.Get(tt.ask)
		assert.Equal(t, tt.want, len(s.Bytes()), "Get(%d)", tt.ask)
		assert.Equal(t, tt.want, s.Cap())
		assert.Equal(t, 1, s.Refs())
		s.Release()
	}
	assert.Panics(t, func() { p.Get(-1) })
}

func TestOptionsChangeClasses(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{MinSlabSize: 512, MaxSlabSize: 2048, MaxLargeSize: 2048})
	s := p.Get(10)
	assert.Equal(t, 512, len(s.Bytes()))
	s.Release()
	s = p.Get(2049)
	assert.Equal(t, 2049, len(s.Bytes()))
	s.Release()
	if pool.Debug {
		return // psdebug drops every slab
	}
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Drops, "exact-size slabs are never pooled")
	assert.Equal(t, int64(512), st.IdleBytes)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		opts  pool.Options
		field string
	}{
		{"zero", pool.Options{}, ""},
		{"custom", pool.Options{MinSlabSize: 1024, MaxSlabSize: 1 << 16, MaxIdleBytes: -1}, ""},
		{"min not pow2", pool.Options{MinSlabSize: 1000}, "MinSlabSize"},
		{"min negative", pool.Options{MinSlabSize: -4096}, "MinSlabSize"},
		{"max not pow2", pool.Options{MaxSlabSize: 3 << 20}, "MaxSlabSize"},
		{"max below min", pool.Options{MinSlabSize: 8192, MaxSlabSize: 4096}, "MaxSlabSize"},
		{"max too big", pool.Options{MaxSlabSize: 1 << 31}, "MaxSlabSize"},
		{"large not pow2", pool.Options{MaxLargeSize: 3 << 20}, "MaxLargeSize"},
		{"large below max", pool.Options{MaxSlabSize: 1 << 20, MaxLargeSize: 1 << 19}, "MaxLargeSize"},
		{"large too big", pool.Options{MaxLargeSize: 1 << 31}, "MaxLargeSize"},
		{"large negative", pool.Options{MaxLargeSize: -1}, "MaxLargeSize"},
		{"large equal max", pool.Options{MaxSlabSize: 1 << 20, MaxLargeSize: 1 << 20}, ""},
		{"max above default large", pool.Options{MaxSlabSize: 128 << 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				assert.NotPanics(t, func() { pool.NewSlabPool(tt.opts) })
				return
			}
			require.ErrorIs(t, err, pool.ErrInvalidOptions)
			var oe *pool.OptionError
			require.True(t, errors.As(err, &oe))
			assert.Equal(t, tt.field, oe.Field)
			assert.Contains(t, err.Error(), "pool: invalid options: "+tt.field)
			assert.Panics(t, func() { pool.NewSlabPool(tt.opts) })
		})
	}
}

func TestRetainRelease(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	s := p.Get(100)
	s.Retain()
	s.Retain()
	assert.Equal(t, 3, s.Refs())
	s.Release()
	s.Release()
	st := p.Stats()
	assert.Equal(t, int64(1), st.SlabsInUse, "still one reference")
	assert.Equal(t, int64(0), st.IdleBytes)
	s.Release()
	st = p.Stats()
	assert.Equal(t, int64(0), st.SlabsInUse)
	assert.Equal(t, int64(0), st.BytesInUse)
	if !pool.Debug {
		assert.Equal(t, int64(4096), st.IdleBytes, "last Release returns the slab to its class")
		again := p.Get(10)
		assert.Same(t, s, again, "the idle slab is reused")
		again.Release()
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	s := p.Get(1)
	s.Release()
	assert.PanicsWithValue(t, pool.MsgDoubleRelease, s.Release)
	assert.PanicsWithValue(t, pool.MsgRetainAfterRelease, s.Retain)
	// The failed calls left the count alone: the next owner is unaffected.
	if !pool.Debug {
		s2 := p.Get(1)
		assert.Same(t, s, s2)
		assert.Equal(t, 1, s2.Refs())
		s2.Release()
	}
}

func TestMaxIdleBytesCapsIdleMemory(t *testing.T) {
	tests := []struct {
		name      string
		maxIdle   int64
		wantIdle  int64
		wantDrops uint64
	}{
		{"default keeps all 8", 0, 8 * 4096, 0},
		{"cap of 3 slabs", 3 * 4096, 3 * 4096, 5},
		{"negative keeps none", -1, 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pool.Debug {
				t.Skip("psdebug never reuses slabs")
			}
			p := pool.NewSlabPool(pool.Options{MaxIdleBytes: tt.maxIdle})
			var held []*pool.Slab
			for range 8 {
				held = append(held, p.Get(4096))
			}
			for _, s := range held {
				s.Release()
			}
			st := p.Stats()
			assert.Equal(t, tt.wantIdle, st.IdleBytes)
			assert.Equal(t, tt.wantDrops, st.Drops)
			assert.Equal(t, uint64(8), st.Gets)
			assert.Equal(t, uint64(8), st.Misses)
			p.Trim()
			assert.Equal(t, int64(0), p.Stats().IdleBytes)
			assert.Equal(t, uint64(8), p.Stats().Drops)
		})
	}
}

func TestStatsCountsHitsAndMisses(t *testing.T) {
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	p := pool.NewSlabPool(pool.Options{})
	for range 10 {
		p.Get(5000).Release()
	}
	st := p.Stats()
	assert.Equal(t, uint64(10), st.Gets)
	assert.Equal(t, uint64(1), st.Misses)
	assert.Equal(t, int64(8192), st.IdleBytes)
}

func TestConcurrentRetainRelease(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				s := p.Get(100)
				s.Retain()
				done := make(chan struct{})
				go func() { s.Release(); close(done) }()
				s.Bytes()[0] = 1
				<-done
				s.Release()
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	assert.Equal(t, int64(0), st.SlabsInUse)
	assert.Equal(t, int64(0), st.BytesInUse)
}

func TestSlabAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	p := pool.NewSlabPool(pool.Options{})
	p.Get(64 << 10).Release() // warm the class
	allocs := testing.AllocsPerRun(1000, func() {
		s := p.Get(64 << 10)
		s.Retain()
		s.Release()
		s.Release()
	})
	assert.Zero(t, allocs)
}

// TestLargeIdleCap: large slabs are pooled up to MaxIdleLargeBytes, apart
// from the power-of-two classes' MaxIdleBytes, and reused; past the cap
// they are dropped.
func TestLargeIdleCap(t *testing.T) {
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	const large = 5 << 18 // 1.25 MiB class
	tests := []struct {
		name      string
		maxIdle   int64
		wantIdle  int64
		wantDrops uint64
	}{
		{"default 32 MiB keeps all 8", 0, 8 * large, 0},
		{"cap of 3 slabs", 3 * large, 3 * large, 5},
		{"negative keeps none", -1, 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// MaxIdleBytes -1: the small classes keep nothing; the large
			// cap is separate.
			p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1, MaxIdleLargeBytes: tt.maxIdle})
			var held []*pool.Slab
			for range 8 {
				held = append(held, p.Get(1<<20+16))
			}
			for _, s := range held {
				s.Release()
			}
			p.Get(4096).Release() // dropped: small classes keep nothing
			st := p.Stats()
			assert.Equal(t, tt.wantIdle, st.IdleLargeBytes)
			assert.Equal(t, tt.wantIdle, st.IdleBytes, "IdleBytes is the total")
			assert.Equal(t, tt.wantDrops+1, st.Drops)
			if tt.wantIdle > 0 {
				s := p.Get(1<<20 + 100)
				kept := int(tt.wantIdle / large)
				assert.True(t, s == held[kept-1], "an idle large slab is reused") // not assert.Same: it prints 1 MiB
				assert.Equal(t, tt.wantIdle-large, p.Stats().IdleLargeBytes)
				s.Release()
			}
			p.Trim()
			assert.Zero(t, p.Stats().IdleBytes)
			assert.Zero(t, p.Stats().IdleLargeBytes)
		})
	}
}

// TestSmallIdleCapLeavesLargeAlone: filling the small classes' idle cap
// does not stop large slabs being kept, and the reverse.
func TestSmallIdleCapLeavesLargeAlone(t *testing.T) {
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	p := pool.NewSlabPool(pool.Options{MaxIdleBytes: 64 << 10, MaxIdleLargeBytes: 2 << 20})
	var small []*pool.Slab
	for range 32 {
		small = append(small, p.Get(4096))
	}
	big := p.Get(2 << 20)
	for _, s := range small {
		s.Release()
	}
	big.Release()
	st := p.Stats()
	assert.Equal(t, int64(64<<10), st.IdleBytes-st.IdleLargeBytes)
	assert.Equal(t, int64(2<<20), st.IdleLargeBytes)
}

func TestLargeSlabAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	p := pool.NewSlabPool(pool.Options{})
	p.Get(4<<20 + 24).Release() // warm the class
	allocs := testing.AllocsPerRun(100, func() {
		s := p.Get(4<<20 + 24)
		s.Retain()
		s.Release()
		s.Release()
	})
	assert.Zero(t, allocs)
}
