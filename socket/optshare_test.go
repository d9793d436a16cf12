package socket

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/frame"
)

// TestSharedOptions: equal option sets share one copy; any difference,
// a non-nil func, or an interface holding a non-comparable value gets its
// own.
func TestSharedOptions(t *testing.T) {
	a := Options{MaxFrameSize: 1 << 20}
	a.ensureDefaults()
	p := sharedOptions(&a)
	b := a
	assert.Same(t, p, sharedOptions(&b), "equal options")
	assert.NotSame(t, p, &b, "a copy, not the caller's value")

	c := a
	c.MaxFrameSize++
	q := sharedOptions(&c)
	assert.NotSame(t, p, q, "a different MaxFrameSize")
	assert.Equal(t, a.MaxFrameSize+1, q.MaxFrameSize)

	d := c
	d.OnSendFailure = func(Failure) {}
	assert.NotSame(t, q, sharedOptions(&d), "a func is never compared equal")
	e := d
	assert.NotSame(t, sharedOptions(&d), sharedOptions(&e), "not even to itself")

	f := a
	f.Logger = slog.Default()
	g := a
	g.Logger = slog.New(slog.Default().Handler())
	assert.NotSame(t, sharedOptions(&f), sharedOptions(&g), "pointers by identity")

	h := a
	h.Framing = sliceFraming{frame.Default, []int{1}}
	assert.False(t, sameOptions(&h, &h), "a non-comparable interface value is never equal")
	assert.NotPanics(t, func() { sharedOptions(&h) })
}

type sliceFraming struct {
	frame.Framing
	s []int
}
