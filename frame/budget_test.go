package frame_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// TestBudgetSharedByReaders: two Readers share a budget of just under
// 1 MiB. Each receives 200 KiB of a large frame: the first grows to a
// 512 KiB slab (charged), the second cannot (ErrBudget, sticky, its slabs
// released, nothing left charged for it). The first completes its 300 KiB
// frame and, once it lets go of the slab, the budget is back to zero.
func TestBudgetSharedByReaders(t *testing.T) {
	b := frame.NewBudget(1<<20 - 1)
	p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1, MaxIdleLargeBytes: -1})
	opts := frame.ReaderOptions{Pool: p, Budget: b}
	payload := bytes.Repeat([]byte("p"), 300<<10)
	wire := encode(t, frame.Default, [][]byte{payload}, 0)

	srcA, srcB := &dripSource{}, &dripSource{}
	a, bb := frame.NewReader(srcA, opts), frame.NewReader(srcB, opts)
	defer a.Close()
	defer bb.Close()
	srcA.b.Write(wire[:200<<10])
	_, err := a.Next()
	require.ErrorIs(t, err, errDry)
	assert.Equal(t, int64(512<<10), b.Used(), "A's 512 KiB slab is charged (its first slab is not)")

	srcB.b.Write(wire[:200<<10])
	_, err = bb.Next()
	require.ErrorIs(t, err, frame.ErrBudget)
	var fe *frame.Error
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Error(), "budget")
	_, err2 := bb.Next()
	assert.Equal(t, err, err2, "sticky")
	assert.False(t, framehook.ReaderHoldsSlab(bb), "B released its slabs")
	assert.Equal(t, int64(512<<10), b.Used(), "nothing left charged for B")
	assert.Equal(t, uint64(1), b.Refused())

	srcA.b.Write(wire[200<<10:])
	f, err := a.Next()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(payload, f.Payload))
	_, err = a.Next()
	require.ErrorIs(t, err, errDry)
	assert.Zero(t, b.Used(), "A let go of its slab: the budget is back to zero")
	assert.Zero(t, p.Stats().SlabsInUse)
}

// TestBudgetReleasedByCloseAndTruncation: a charged partial frame gives
// its bytes back when the Reader is closed or the stream ends mid-frame.
func TestBudgetReleasedByCloseAndTruncation(t *testing.T) {
	b := frame.NewBudget(0) // no limit: counts only
	wire := encode(t, frame.Default, [][]byte{make([]byte, 1<<20)}, 0)
	for _, cut := range []string{"close", "eof"} {
		t.Run(cut, func(t *testing.T) {
			src := &dripSource{}
			r := frame.NewReader(src, frame.ReaderOptions{Budget: b})
			src.b.Write(wire[:600<<10])
			_, err := r.Next()
			require.ErrorIs(t, err, errDry)
			require.Positive(t, b.Used())
			if cut == "close" {
				require.NoError(t, r.Close())
			} else {
				src.closed = true
				_, err = r.Next()
				require.ErrorIs(t, err, frame.ErrTruncated)
			}
			assert.Zero(t, b.Used())
		})
	}
}

// TestDefaultBudget: Readers without a Budget share the process-wide one
// of DefaultBudgetBytes.
func TestDefaultBudget(t *testing.T) {
	d := frame.DefaultBudget()
	assert.Equal(t, int64(frame.DefaultBudgetBytes), d.Limit())
	before := d.Used()
	src := &dripSource{}
	r := frame.NewReader(src, frame.ReaderOptions{})
	src.b.Write(encode(t, frame.Default, [][]byte{make([]byte, 1<<20)}, 0)[:600<<10])
	_, err := r.Next()
	require.ErrorIs(t, err, errDry)
	assert.Greater(t, d.Used(), before)
	require.NoError(t, r.Close())
	assert.Equal(t, before, d.Used())
}
