package codec

import (
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// The values of go_serialization_benchmarks' generated SmallStructs are
// random; these are of similar sizes.
const (
	name     = "Ada Lovelace-1"
	birthDay = int64(-4_755_520_000)
	phone    = "+44 20 7946 0"
	siblings = int32(2)
	spouse   = true
	money    = 1234.5678
)

func build(w *flyweight.Builder, buf []byte) []byte {
	w.Reset(buf)
	p := BuildSmallStruct(w)
	p.SetName(name)
	p.SetBirthDay(birthDay)
	p.SetPhone(phone)
	p.SetSiblings(siblings)
	p.SetSpouse(spouse)
	p.SetMoney(money)
	out, err := p.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

// readAll reads every field; strings are zero-copy views.
func readAll(m SmallStruct) int {
	n := len(m.NameView()) + len(m.PhoneView()) + int(m.BirthDay()) + int(m.Siblings()) + int(m.Money())
	if m.Spouse() {
		n++
	}
	return n
}

func pbValue() *SmallStructPB {
	return &SmallStructPB{Name: name, BirthDay: birthDay, Phone: phone, Siblings: siblings, Spouse: spouse, Money: money}
}

var sink int

func BenchmarkSmallStruct(b *testing.B) {
	buf := make([]byte, 0, 256)
	var w flyweight.Builder
	msg := append([]byte(nil), build(&w, buf[:0])...)

	// The direct builder, as the guide recommends building into a reused
	// buffer: AppendSmallStruct, the setters and Finish written in the
	// loop, one message per iteration.
	b.Run("codecgen/append", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			out, err := AppendSmallStruct(buf[:0]).SetName(name).SetBirthDay(birthDay).SetPhone(phone).
				SetSiblings(siblings).SetSpouse(spouse).SetMoney(money).Finish()
			if err != nil {
				b.Fatal(err)
			}
			sink += len(out)
		}
		c.stop(b)
		b.ReportMetric(float64(len(msg)), "bytes/msg")
	})
	b.Run("codecgen/build", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			// As a caller writes it, in its own function (the other
			// systems below are timed the same way: one call per message).
			w.Reset(buf[:0])
			out, err := BuildSmallStruct(&w).SetName(name).SetBirthDay(birthDay).SetPhone(phone).
				SetSiblings(siblings).SetSpouse(spouse).SetMoney(money).Finish()
			if err != nil {
				b.Fatal(err)
			}
			sink += len(out)
		}
		c.stop(b)
		b.ReportMetric(float64(len(msg)), "bytes/msg")
	})
	// The same setters with the builder's AppendTo: no flyweight.Builder.
	b.Run("codecgen/build-append", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			var p SmallStructBuilder
			out, err := p.SetName(name).SetBirthDay(birthDay).SetPhone(phone).
				SetSiblings(siblings).SetSpouse(spouse).SetMoney(money).AppendTo(buf[:0])
			if err != nil {
				b.Fatal(err)
			}
			sink += len(out)
		}
		c.stop(b)
	})
	// The same through the helper build (a function of its own around
	// Reset, the setters and Finish): the cost of that extra call.
	b.Run("codecgen/build-in-helper", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			sink += len(build(&w, buf[:0]))
		}
		c.stop(b)
	})
	sv := SmallStructValue{Name: name, BirthDay: birthDay, Phone: phone, Siblings: siblings, Spouse: spouse, Money: money}
	b.Run("codecgen/append-value", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			out, err := sv.AppendTo(buf[:0])
			if err != nil {
				b.Fatal(err)
			}
			sink += len(out)
		}
		c.stop(b)
	})
	hv := handValue()
	handMsg := handMarshal(nil, hv)
	b.Run("hand-written/marshal", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			sink += len(handMarshal(buf[:0], hv))
		}
		c.stop(b)
		b.ReportMetric(float64(len(handMsg)), "bytes/msg")
	})
	// The hand-written marshal of a value filled in the loop, as the
	// builder's setters fill theirs (the row above marshals a value
	// prepared once).
	b.Run("hand-written/fill+marshal", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			s := smallStructHand{Name: name, BirthDay: birthDay, Phone: phone, Siblings: siblings, Spouse: spouse, Money: money}
			sink += len(handMarshal(buf[:0], &s))
		}
		c.stop(b)
	})
	b.Run("codecgen/wrap+read-all", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapSmallStruct(msg)
			if err != nil {
				b.Fatal(err)
			}
			sink += readAll(m)
		}
		c.stop(b)
	})
	// The same message in the standard record form (as the runtime's
	// generic RecordWriter writes it), read side by side with the compact
	// one above.
	v := sv
	var rb flyweight.Builder
	refBuildSmallStruct(&rb, &v)
	std := append([]byte(nil), rb.Bytes()...)
	b.Run("codecgen/wrap+read-all-standard-form", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapSmallStruct(std)
			if err != nil {
				b.Fatal(err)
			}
			sink += readAll(m)
		}
		c.stop(b)
		b.ReportMetric(float64(len(std)), "bytes/msg")
	})
	b.Run("codecgen/wrap+read-one", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapSmallStruct(msg)
			if err != nil {
				b.Fatal(err)
			}
			sink += int(m.Siblings())
		}
		c.stop(b)
	})
	b.Run("codecgen/build+read-all", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapSmallStruct(build(&w, buf[:0]))
			if err != nil {
				b.Fatal(err)
			}
			sink += readAll(m)
		}
		c.stop(b)
	})

	pb := pbValue()
	pbMsg, err := proto.Marshal(pb)
	if err != nil {
		b.Fatal(err)
	}
	opts := proto.MarshalOptions{}
	b.Run("protobuf/marshal", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			out, err := opts.MarshalAppend(buf[:0], pb)
			if err != nil {
				b.Fatal(err)
			}
			sink += len(out)
		}
		c.stop(b)
		b.ReportMetric(float64(len(pbMsg)), "bytes/msg")
	})
	b.Run("protobuf/unmarshal+read-all", func(b *testing.B) {
		b.ReportAllocs()
		var into SmallStructPB
		c := startCPU()
		for b.Loop() {
			if err := proto.Unmarshal(pbMsg, &into); err != nil {
				b.Fatal(err)
			}
			sink += len(into.Name) + len(into.Phone) + int(into.BirthDay) + int(into.Siblings) + int(into.Money)
		}
		c.stop(b)
	})
	b.Run("protobuf/marshal+unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		var into SmallStructPB
		c := startCPU()
		for b.Loop() {
			out, err := opts.MarshalAppend(buf[:0], pb)
			if err != nil {
				b.Fatal(err)
			}
			if err := proto.Unmarshal(out, &into); err != nil {
				b.Fatal(err)
			}
			sink += len(into.Name) + int(into.Siblings)
		}
		c.stop(b)
	})
}

// The benchmark's claims, as tests: both encodings carry the same values,
// and the codecgen paths allocate nothing.
func TestSameValues(t *testing.T) {
	var w flyweight.Builder
	m, err := WrapSmallStruct(build(&w, nil))
	require.NoError(t, err)
	var pb SmallStructPB
	raw, err := proto.Marshal(pbValue())
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(raw, &pb))
	assert.Equal(t, pb.Name, m.Name())
	assert.Equal(t, pb.BirthDay, m.BirthDay())
	assert.Equal(t, pb.Phone, m.Phone())
	assert.Equal(t, pb.Siblings, m.Siblings())
	assert.Equal(t, pb.Spouse, m.Spouse())
	assert.Equal(t, pb.Money, m.Money())
}

// The value path writes the same bytes as the builder path.
func TestSmallStructAppendValue(t *testing.T) {
	var w flyweight.Builder
	sv := SmallStructValue{Name: name, BirthDay: birthDay, Phone: phone, Siblings: siblings, Spouse: spouse, Money: money}
	out, err := sv.AppendTo(nil)
	require.NoError(t, err)
	assert.Equal(t, build(&w, nil), out)
	testenv.SkipIfRace(t)
	buf := make([]byte, 0, 256)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		out, _ := sv.AppendTo(buf[:0])
		sink += len(out)
	}))
}

func TestCodecgenAllocatesNothing(t *testing.T) {
	testenv.SkipIfRace(t)
	buf := make([]byte, 0, 256)
	var w flyweight.Builder
	allocs := testing.AllocsPerRun(1000, func() {
		m, err := WrapSmallStruct(build(&w, buf[:0]))
		if err != nil {
			panic(err)
		}
		sink += readAll(m)
	})
	assert.Zero(t, allocs)
}
