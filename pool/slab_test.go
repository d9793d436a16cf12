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
		{1<<20 + 1, 1<<20 + 1}, // exact-size above the largest class
		{3 << 20, 3 << 20},
	}
	for _, tt := range tests {
		s := p.Get(tt.ask)
		assert.Len(t, s.Bytes(), tt.want, "Get(%d)", tt.ask)
		assert.Equal(t, tt.want, s.Cap())
		assert.Equal(t, 1, s.Refs())
		s.Release()
	}
	assert.Panics(t, func() { p.Get(-1) })
}

func TestOptionsChangeClasses(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{MinSlabSize: 512, MaxSlabSize: 2048})
	s := p.Get(10)
	assert.Len(t, s.Bytes(), 512)
	s.Release()
	s = p.Get(2049)
	assert.Len(t, s.Bytes(), 2049)
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
