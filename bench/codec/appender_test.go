package codec

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzSmallStructAppender builds arbitrary SmallStructs with the direct
// builder, the fields in an order the input chooses (fixed ones anywhere,
// strings possibly twice or out of order, strings possibly past the compact
// form's 32767 bytes): a correct use writes exactly what the value's
// AppendTo writes and wraps back to the value; a mistake gives the
// sentinel naming the field and leaves dst as it was. Never a panic.
func FuzzSmallStructAppender(f *testing.F) {
	f.Add("Ada", "+44", int64(1), int32(2), true, 1.5, uint8(0), uint16(0))
	f.Add("", "", int64(0), int32(0), false, 0.0, uint8(1), uint16(0))
	f.Add("n", "p", int64(-1), int32(-1), true, math.Inf(1), uint8(2), uint16(40000))
	f.Add("n", "p", int64(7), int32(3), false, math.Copysign(0, -1), uint8(3), uint16(65535))
	f.Fuzz(func(t *testing.T, name, phone string, bd int64, sib int32, sp bool, money float64, how uint8, pad uint16) {
		if how&4 != 0 {
			name += strings.Repeat("n", int(pad))
		} else {
			phone += strings.Repeat("p", int(pad))
		}
		prefix := []byte("prefix")
		p := AppendSmallStruct(prefix)
		if how&8 != 0 { // fixed fields first
			p.SetMoney(money).SetSpouse(sp).SetSiblings(sib).SetBirthDay(bd)
		}
		var wantErr error
		var wantField string
		switch how & 3 {
		case 0: // schema order
			p.SetName(name).SetPhone(phone)
		case 1: // phone then name: name is out of order
			p.SetPhone(phone).SetName(name)
			wantErr, wantField = flyweight.ErrBuildOrder, "name"
		case 2: // name twice
			p.SetName(name).SetNameBytes([]byte(name)).SetPhone(phone)
			wantErr, wantField = flyweight.ErrSetTwice, "name"
		case 3: // phone only
			p.SetPhoneBytes([]byte(phone))
			name = ""
		}
		if how&8 == 0 {
			p.SetBirthDay(bd).SetSiblings(sib).SetSpouse(sp).SetMoney(money)
		}
		out, err := p.Finish()
		if wantErr != nil {
			var fe *flyweight.Error
			if !errors.Is(err, wantErr) || !errors.As(err, &fe) || fe.Field != wantField || string(out) != "prefix" {
				t.Fatalf("got %q, %v; want prefix and %v naming %s", out, err, wantErr, wantField)
			}
			return
		}
		v := SmallStructValue{Name: name, BirthDay: bd, Phone: phone, Siblings: sib, Spouse: sp, Money: money}
		want, werr := v.AppendTo([]byte("prefix"))
		if err != nil || werr != nil || !bytes.Equal(out, want) {
			t.Fatalf("direct builder %v, AppendTo %v: the bytes differ", err, werr)
		}
		m, err := WrapSmallStruct(out[len("prefix"):])
		if err != nil || m.Name() != name || m.Phone() != phone || m.BirthDay() != bd || m.Siblings() != sib || m.Spouse() != sp || math.Float64bits(m.Money()) != math.Float64bits(money) {
			t.Fatalf("read back %v: %v", err, m)
		}
	})
}

// TestSmallStructAppenderLarge: records on both sides of the compact form's
// limit and past 64 KiB (where the compact table's 16-bit ends wrap) give
// AppendTo's bytes; a growing dst is followed.
func TestSmallStructAppenderLarge(t *testing.T) {
	for _, n := range []int{0, 1, 32767 - 29, 32767 - 28, 65535, 65536, 70000, 140000} {
		for _, first := range []bool{true, false} {
			name, phone := strings.Repeat("a", n), "b"
			if !first {
				name, phone = "b", strings.Repeat("a", n)
			}
			v := SmallStructValue{Name: name, Phone: phone, BirthDay: 1, Money: 2}
			want, err := v.AppendTo(nil)
			require.NoError(t, err)
			out, err := AppendSmallStruct(nil).SetName(name).SetPhone(phone).SetBirthDay(1).SetMoney(2).Finish()
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, out), "n=%d first=%v", n, first)
			m, err := WrapSmallStruct(out)
			require.NoError(t, err)
			assert.Equal(t, v, m.ToValue())
		}
	}
}

// TestSmallStructAppenderErrors: each mistake's error names the field, the
// sentinel and where the record began in dst; dst comes back as it was.
func TestSmallStructAppenderErrors(t *testing.T) {
	_, err := AppendSmallStruct(nil).SetPhone("p").SetName("n").Finish()
	require.ErrorIs(t, err, flyweight.ErrBuildOrder)
	assert.Equal(t, "flyweight: variable field written out of order: SmallStruct.name at offset 0", err.Error())
	out, err := AppendSmallStruct([]byte("x")).SetName("n").SetPhone("p").SetPhone("q").Finish()
	require.ErrorIs(t, err, flyweight.ErrSetTwice)
	assert.Equal(t, "flyweight: variable field set twice: SmallStruct.phone at offset 1", err.Error())
	assert.Equal(t, "x", string(out))
	// Fixed fields: the last value counts.
	out, err = AppendSmallStruct(nil).SetSiblings(1).SetSiblings(3).Finish()
	require.NoError(t, err)
	m, err := WrapSmallStruct(out)
	require.NoError(t, err)
	assert.Equal(t, int32(3), m.Siblings())
}

// TestSmallStructAppenderSetAfterFinish: under -tags psdebug a setter called
// after Finish panics naming the call and the mistake.
func TestSmallStructAppenderSetAfterFinish(t *testing.T) {
	if !flyweight.Debug {
		t.Skip("checked under -tags psdebug")
	}
	p := AppendSmallStruct(nil).SetName("n")
	_, err := p.Finish()
	require.NoError(t, err)
	assert.PanicsWithValue(t, "flyweight: SmallStructAppender.SetPhone called after Finish: a builder writes one message; begin the next with AppendSmallStruct", func() { p.SetPhone("p") })
	assert.PanicsWithValue(t, "flyweight: SmallStructAppender.SetMoney called after Finish: a builder writes one message; begin the next with AppendSmallStruct", func() { p.SetMoney(1) })
}

// TestStagedBuilderValueChangedBeforeFinish: under -tags psdebug the staged
// builder, which keeps strings and byte slices by reference until Finish,
// panics naming the setter when such a value changed before Finish; a
// value replaced by a second call is no longer checked.
func TestStagedBuilderValueChangedBeforeFinish(t *testing.T) {
	if !flyweight.Debug {
		t.Skip("checked under -tags psdebug")
	}
	buf := []byte("Ada")
	var w flyweight.Builder
	p := BuildSmallStruct(&w).SetNameBytes(buf).SetPhone(flyweight.StringView(buf))
	buf[0] = 'E' // a reused buffer: both views now read "Eda"
	assert.PanicsWithValue(t, "flyweight: the value given to SmallStructBuilder.SetNameBytes changed before Finish: the builder keeps strings and byte slices by reference until Finish (copy a view of a reused buffer before setting it)", func() { _, _ = p.Finish() })

	buf = []byte("Ada")
	var q SmallStructBuilder
	q.SetNameBytes(buf).SetNameBytes([]byte("Bob"))
	buf[0] = 'E' // no longer kept
	out, err := q.AppendTo(nil)
	require.NoError(t, err)
	m, err := WrapSmallStruct(out)
	require.NoError(t, err)
	assert.Equal(t, "Bob", m.Name())

	// The field's other setter replaces the value too: the builder no
	// longer refers to buf, so reusing it is no mistake.
	buf = []byte("Ada")
	var r SmallStructBuilder
	r.SetNameBytes(buf).SetName("final")
	buf[0] = 'E'
	out, err = r.AppendTo(nil)
	require.NoError(t, err)
	m, err = WrapSmallStruct(out)
	require.NoError(t, err)
	assert.Equal(t, "final", m.Name())
}
