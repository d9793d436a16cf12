package flyweight

import (
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *Builder) error
		want  error
	}{
		{"slot out of order", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 2)})
			w.SetString(1, "b")
			w.SetString(0, "a")
			_, err := w.Finish()
			return err
		}, ErrBuildOrder},
		{"slot twice", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 2)})
			w.SetString(0, "a")
			w.SetString(0, "a")
			_, err := w.Finish()
			return err
		}, ErrBuildOrder},
		{"slot beyond table", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 1)})
			w.SetString(1, "a")
			_, err := w.Finish()
			return err
		}, ErrBuildOrder},
		{"parent var while group open", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 2)})
			g := w.BeginGroup(0, &Layout{Name: "M.g"})
			w.SetString(1, "a")
			g.End()
			_, err := w.Finish()
			return err
		}, ErrBuildOrder},
		{"group never ended", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 1)})
			g := w.BeginGroup(0, &Layout{Name: "M.g"})
			g.Add()
			_, err := w.Finish()
			return err
		}, ErrOpenGroup},
		{"group ended twice", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 0, Slots: make([]string, 1)})
			g := w.BeginGroup(0, &Layout{Name: "M.g"})
			g.End()
			g.End()
			_, err := w.Finish()
			return err
		}, ErrOpenGroup},
		{"fixed block too large", func(b *Builder) error {
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 70000, Slots: make([]string, 0)})
			_, err := w.Finish()
			return err
		}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			assert.ErrorIs(t, tc.build(&b), tc.want)
			assert.ErrorIs(t, b.Err(), tc.want)
			b.Reset(nil)
			assert.NoError(t, b.Err(), "Reset clears the error")
		})
	}
}

func TestBuilderAppendsAfterExisting(t *testing.T) {
	prefix := []byte("HDR")
	b := NewBuilder(prefix)
	w := b.BeginRecord(&Layout{Name: "M", FixedLen: 4, Slots: make([]string, 1)})
	w.PutUint32(0, 7)
	w.SetBytes(0, []byte{1, 2})
	rec, err := w.Finish()
	require.NoError(t, err)
	assert.Equal(t, "HDR", string(b.Bytes()[:3]))
	assert.Equal(t, b.Len()-3, len(rec))
	v := NewValidator(Limits{})
	r, err := v.Record(rec, "M", nil, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2}, r.Var(0))
}

func TestBuildAndReadAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	buf := make([]byte, 0, 1024)
	var sink int
	var b Builder
	buildSampleWith(t, &b, buf[:0], 4) // the Builder's offset stack grows once
	allocs := testing.AllocsPerRun(200, func() {
		out := buildSampleWith(t, &b, buf[:0], 4)
		r, err := validateSample(out, Limits{})
		if err != nil {
			panic(err)
		}
		sink += len(StringView(r.Var(0)))
		g := r.Group(1)
		for i := 0; i < g.Len(); i++ {
			sink += len(g.At(i).Var(0))
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sink)
}

// BeginRecord clears the reused part of a pre-grown buffer (the fast path)
// as well as a grown one, and Fixed exposes exactly the fixed block.
func TestBeginRecordClearsAndFixed(t *testing.T) {
	for _, tc := range []struct {
		name string
		buf  []byte
	}{
		{"pre-grown dirty buffer", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}[:0]},
		{"nil buffer", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(tc.buf)
			w := b.BeginRecord(&Layout{Name: "M", FixedLen: 3, Slots: make([]string, 1)})
			f := w.Fixed()
			require.Len(t, f, 3)
			assert.Equal(t, 3, cap(f), "capacity clipped to the fixed block")
			f[0], f[2] = 7, 9
			out, err := w.Finish()
			require.NoError(t, err)
			assert.Equal(t, []byte{3, 0, 1, 0, 7, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0}, out)
		})
	}
}
