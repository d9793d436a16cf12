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

// RecordWriter and GroupWriter are values: copies share the Builder's
// state, so order is enforced whichever copy writes, and errors name the
// record and the field.
func TestBuilderValueSemanticsAndErrorNames(t *testing.T) {
	msg := &Layout{Name: "Car", FixedLen: 2, Slots: []string{"model", "parts", "maker"}}
	part := &Layout{Name: "Car.parts", FixedLen: 1, Slots: []string{"label", "subparts"}}
	sub := &Layout{Name: "Car.parts.subparts", FixedLen: 1}

	var b Builder
	w := b.BeginRecord(msg)
	w2 := w // a copy
	w.SetString(0, "civic")
	w2.SetString(0, "again") // the copy sees that slot 0 was written
	_, err := w.Finish()
	require.ErrorIs(t, err, ErrBuildOrder)
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "Car", fe.Message)
	assert.Equal(t, "model", fe.Field)

	tests := []struct {
		name       string
		build      func(b *Builder)
		want       error
		msg, field string
	}{
		{"element var after the next element began", func(b *Builder) {
			w := b.BeginRecord(msg)
			g := w.BeginGroup(1, part)
			e1 := g.Add()
			g.Add()
			e1.SetString(0, "late")
			g.End()
		}, ErrBuildOrder, "Car.parts", "label"},
		{"outer group End while inner open", func(b *Builder) {
			w := b.BeginRecord(msg)
			g := w.BeginGroup(1, part)
			e := g.Add()
			e.BeginGroup(1, sub)
			g.End()
		}, ErrOpenGroup, "Car.parts", "group"},
		{"outer Add while inner open", func(b *Builder) {
			w := b.BeginRecord(msg)
			g := w.BeginGroup(1, part)
			g.Add().BeginGroup(1, sub)
			g.Add()
		}, ErrOpenGroup, "Car.parts", "element"},
		{"parent var after group without End", func(b *Builder) {
			w := b.BeginRecord(msg)
			w.BeginGroup(1, part)
			w.SetString(2, "honda")
		}, ErrBuildOrder, "Car", "maker"},
		{"BeginRecord inside an open group", func(b *Builder) {
			w := b.BeginRecord(msg)
			w.BeginGroup(1, part)
			b.BeginRecord(sub)
		}, ErrOpenGroup, "Car.parts.subparts", "header"},
		{"slot beyond the layout", func(b *Builder) {
			b.BeginRecord(sub).SetString(0, "x")
		}, ErrBuildOrder, "Car.parts.subparts", "unknown slot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			tc.build(&b)
			err := b.Err()
			require.ErrorIs(t, err, tc.want)
			var fe *Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.msg, fe.Message)
			assert.Equal(t, tc.field, fe.Field)
		})
	}
}

// Nested groups built through copies of the writers read back in order.
func TestBuilderNestedGroups(t *testing.T) {
	msg := &Layout{Name: "M", Slots: []string{"g", "tail"}}
	el := &Layout{Name: "M.g", FixedLen: 1, Slots: []string{"h"}}
	in := &Layout{Name: "M.g.h", FixedLen: 1}
	var b Builder
	w := b.BeginRecord(msg)
	g := w.BeginGroup(0, el)
	for i := 0; i < 3; i++ {
		e := g.Add()
		e.PutUint8(0, uint8(i))
		h := e.BeginGroup(0, in)
		for j := 0; j < i; j++ {
			h.Add().PutUint8(0, uint8(10*i+j))
		}
		h.End()
	}
	g.End()
	w.SetString(1, "tail")
	out, err := w.Finish()
	require.NoError(t, err)

	v := NewValidator(Limits{})
	r, err := v.Record(out, "M", msg.Slots, 0, 0)
	require.NoError(t, err)
	d := r.Var(0)
	n, err := v.Group(d, "M", "g", r.VarOffset(0), 1)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for i := 0; i < n; i++ {
		e, err := v.Element(d, n, i, "M.g", el.Slots, 1, r.VarOffset(0))
		require.NoError(t, err)
		k, _ := Uint8At(e.Fixed(), 0)
		assert.Equal(t, uint8(i), k)
		hd := e.Var(0)
		hn, err := v.Group(hd, "M.g", "h", e.VarOffset(0), 2)
		require.NoError(t, err)
		require.Equal(t, i, hn)
		for j := 0; j < hn; j++ {
			he, err := v.Element(hd, hn, j, "M.g.h", nil, 2, e.VarOffset(0))
			require.NoError(t, err)
			x, _ := Uint8At(he.Fixed(), 0)
			assert.Equal(t, uint8(10*i+j), x)
		}
	}
	assert.Equal(t, "tail", string(r.Var(1)))
}

// TestBeginAppend: the one-pass path of staged builders refuses to append
// inside an open group (ErrOpenGroup naming the message) and reports the
// Builder's sticky error; a failed append (EndAppend with an error) keeps
// the buffer and becomes the sticky error; a successful one hands the
// buffer back and ends the current record's variable fields.
func TestBeginAppend(t *testing.T) {
	var b Builder
	w := b.BeginRecord(&Layout{Name: "M", Slots: make([]string, 2)})
	g := w.BeginGroup(0, &Layout{Name: "M.g"})
	_, err := b.BeginAppend("Flat")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrOpenGroup)
	assert.Equal(t, "Flat", fe.Message)
	g.End()
	_, err = b.BeginAppend("Flat")
	assert.ErrorIs(t, err, ErrOpenGroup, "sticky")

	b.Reset(nil)
	w = b.BeginRecord(&Layout{Name: "M", Slots: make([]string, 1)})
	buf, err := b.BeginAppend("Flat")
	require.NoError(t, err)
	n := len(buf)
	require.NoError(t, b.EndAppend(append(buf, 1, 2, 3), nil))
	assert.Equal(t, n+3, b.Len())
	w.SetString(0, "late") // the appended record ended M's variable fields
	_, err = w.Finish()
	assert.ErrorIs(t, err, ErrBuildOrder)

	b.Reset(nil)
	buf, err = b.BeginAppend("Flat")
	require.NoError(t, err)
	tooLarge := NewError("Flat", "header", 0, ErrTooLarge)
	assert.ErrorIs(t, b.EndAppend(append(buf, 9), tooLarge), ErrTooLarge)
	assert.Zero(t, b.Len(), "a failed append leaves the buffer")
	_, err = b.BeginAppend("Other")
	assert.ErrorIs(t, err, ErrTooLarge, "sticky")
}

// TestBuilderErrorOffsets: a Builder's errors name the field at fault
// and, as their Offset, where the record at fault (or the open group's
// data) begins in the Builder's buffer: here after a 6-byte prefix.
func TestBuilderErrorOffsets(t *testing.T) {
	msg := &Layout{Name: "Car", FixedLen: 2, Slots: []string{"model", "parts", "maker"}}
	part := &Layout{Name: "Car.parts", FixedLen: 1, Slots: []string{"label", "subparts"}}
	sub := &Layout{Name: "Car.parts.subparts", FixedLen: 1}
	tests := []struct {
		name  string
		build func(b *Builder) error
		want  Error
	}{
		{"out of order", func(b *Builder) error {
			w := b.BeginRecord(msg)
			w.SetString(2, "honda")
			w.SetString(0, "civic")
			_, err := w.Finish()
			return err
		}, Error{"Car", "model", 6, ErrBuildOrder}},
		{"too long", func(b *Builder) error {
			w := b.BeginRecord(msg)
			w.Fail("model", ErrTooLong)
			_, err := w.Finish()
			return err
		}, Error{"Car", "model", 6, ErrTooLong}},
		{"element's field out of order", func(b *Builder) error {
			w := b.BeginRecord(msg)
			g := w.BeginGroup(1, part)
			g.Add()
			e := g.Add() // at 6+4+2+24 (Car) +4 (count) +1+4+16 (the first element)
			e.SetString(1, "x")
			e.SetString(0, "late")
			g.End()
			_, err := w.Finish()
			return err
		}, Error{"Car.parts", "label", 6 + 30 + 4 + 21, ErrBuildOrder}},
		{"group left open", func(b *Builder) error {
			w := b.BeginRecord(msg)
			g := w.BeginGroup(1, part)
			g.Add().BeginGroup(1, sub)
			_, err := w.Finish()
			return err
		}, Error{"Car.parts", "subparts", 6 + 30 + 4 + 21, ErrOpenGroup}},
		{"outer group left open", func(b *Builder) error {
			w := b.BeginRecord(msg)
			w.BeginGroup(1, part).Add()
			_, err := w.Finish()
			return err
		}, Error{"Car", "parts", 6 + 30, ErrOpenGroup}},
		{"record begun in an open group", func(b *Builder) error {
			b.BeginRecord(msg).BeginGroup(1, part)
			_, err := b.BeginRecord(sub).Finish()
			return err
		}, Error{"Car.parts.subparts", "header", 6 + 30 + 4, ErrOpenGroup}},
		{"staged record begun in an open group", func(b *Builder) error {
			b.BeginRecord(msg).BeginGroup(1, part)
			_, err := b.BeginAppend("Flat")
			return err
		}, Error{"Flat", "header", 6 + 30 + 4, ErrOpenGroup}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder([]byte("prefix"))
			err := tc.build(&b)
			var fe *Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.want, *fe)
			assert.Equal(t, err, b.Err())
		})
	}
}
