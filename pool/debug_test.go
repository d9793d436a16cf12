//go:build psdebug

package pool_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/pool"
)

func TestDebugPoisonsReleasedSlabs(t *testing.T) {
	require.True(t, pool.Debug)
	p := pool.NewSlabPool(pool.Options{})
	s := p.Get(4096)
	view := s.Bytes()[10:20]
	copy(view, "0123456789")
	assert.False(t, pool.Poisoned(view))
	s.Release()
	assert.True(t, pool.Poisoned(view), "a view kept past the last Release sees poison")
	assert.PanicsWithValue(t, pool.MsgUseAfterRelease, func() { s.Bytes() })
	assert.PanicsWithValue(t, pool.MsgRetainAfterRelease, s.Retain)
	assert.PanicsWithValue(t, pool.MsgDoubleRelease, s.Release)

	s2 := p.Get(4096)
	assert.NotSame(t, s, s2, "poisoned slabs are never reused")
	assert.False(t, pool.Poisoned(s2.Bytes()), "fresh slabs are not poisoned")
	s2.Release()
	assert.Equal(t, int64(0), p.Stats().IdleBytes)
}

func TestDebugPoisonsReleasedLargeSlabs(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	s := p.Get(3<<20 + 1) // a large class
	view := s.Bytes()[3<<20-10 : 3<<20]
	copy(view, "0123456789")
	s.Release()
	assert.True(t, pool.Poisoned(view), "a view of a released large slab sees poison")
	assert.PanicsWithValue(t, pool.MsgUseAfterRelease, func() { s.Bytes() })
	assert.Zero(t, p.Stats().IdleLargeBytes, "poisoned large slabs are never kept")
}
