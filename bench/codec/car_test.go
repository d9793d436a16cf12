package codec

import (
	"math"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// The values of SBE's Car example: 3 fuel figures, 2 performance figures
// of 3 accelerations each, so 12 records with the message.
type fuel struct {
	speed uint16
	mpg   float32
	desc  string
}

type accel struct {
	mph     uint16
	seconds float32
}

var (
	carFuel = []fuel{{30, 35.9, "Urban Cycle"}, {55, 49.0, "Combined Cycle"}, {75, 40.0, "Highway Cycle"}}
	carPerf = []struct {
		octane uint8
		accel  []accel
	}{
		{95, []accel{{30, 4.0}, {60, 7.5}, {100, 12.2}}},
		{99, []accel{{30, 3.8}, {60, 7.1}, {100, 11.8}}},
	}
	carEngine = Engine{Capacity: 2000, NumCylinders: 4, ManufacturerCode: [3]byte{'1', '2', '3'}, Booster: Booster{BoostType: BoostTypeNitrous, HorsePower: 200}}
)

const (
	carSerial       = uint64(1234)
	carYear         = uint16(2013)
	carManufacturer = "Honda"
	carModel        = "Civic VTi"
	carActivation   = "abcdef"
)

// buildCar writes the example Car with the generated builder.
func buildCar(w *flyweight.Builder, buf []byte) []byte {
	w.Reset(buf)
	p := BuildCar(w)
	p.SetSerialNumber(carSerial)
	p.SetModelYear(carYear)
	p.SetAvailable(true)
	p.SetCode(ModelA)
	p.SetSomeNumbers([4]uint32{1, 2, 3, 4})
	p.SetVehicleCode([6]byte{'a', 'b', 'c', 'd', 'e', 'f'})
	p.SetExtras(OptionalExtrasSunRoof | OptionalExtrasCruiseControl)
	p.SetEngine(carEngine)
	ff := p.BeginFuelFigures()
	for _, f := range carFuel {
		e := ff.Add()
		e.SetSpeed(f.speed)
		e.SetMpg(f.mpg)
		e.SetUsageDescription(f.desc)
	}
	ff.End()
	pf := p.BeginPerformanceFigures()
	for _, f := range carPerf {
		e := pf.Add()
		e.SetOctaneRating(f.octane)
		ag := e.BeginAcceleration()
		for _, a := range f.accel {
			x := ag.Add()
			x.SetMph(a.mph)
			x.SetSeconds(a.seconds)
		}
		ag.End()
	}
	pf.End()
	p.SetManufacturer(carManufacturer)
	p.SetModel(carModel)
	p.SetActivationCode(carActivation)
	out, err := p.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

func carPB() *CarPB {
	e := carEngine
	pb := &CarPB{
		SerialNumber: carSerial, ModelYear: uint32(carYear), Available: true, Code: uint32(ModelA),
		SomeNumbers: []uint32{1, 2, 3, 4}, VehicleCode: []byte("abcdef"),
		Extras: uint32(OptionalExtrasSunRoof | OptionalExtrasCruiseControl),
		Engine: &EnginePB{Capacity: uint32(e.Capacity), NumCylinders: uint32(e.NumCylinders), ManufacturerCode: e.ManufacturerCode[:],
			BoostType: uint32(e.Booster.BoostType), HorsePower: uint32(e.Booster.HorsePower)},
		Manufacturer: carManufacturer, Model: carModel, ActivationCode: carActivation,
	}
	for _, f := range carFuel {
		pb.FuelFigures = append(pb.FuelFigures, &FuelFigurePB{Speed: uint32(f.speed), Mpg: f.mpg, UsageDescription: f.desc})
	}
	for _, f := range carPerf {
		p := &PerformanceFigurePB{OctaneRating: uint32(f.octane)}
		for _, a := range f.accel {
			p.Acceleration = append(p.Acceleration, &AccelerationPB{Mph: uint32(a.mph), Seconds: a.seconds})
		}
		pb.PerformanceFigures = append(pb.PerformanceFigures, p)
	}
	return pb
}

// readCarPB reads every field of an unmarshalled CarPB.
func readCarPB(m *CarPB) int {
	n := int(m.SerialNumber) + int(m.ModelYear) + int(m.Code) + int(m.Extras)
	if len(m.VehicleCode) == 6 {
		n += int(m.VehicleCode[0]) + int(m.VehicleCode[5])
	}
	if m.Available {
		n++
	}
	for _, x := range m.SomeNumbers {
		n += int(x)
	}
	if e := m.Engine; e != nil {
		n += int(e.Capacity) + int(e.NumCylinders) + len(e.ManufacturerCode) + int(e.BoostType) + int(e.HorsePower)
	}
	for _, f := range m.FuelFigures {
		n += int(f.Speed) + int(f.Mpg) + len(f.UsageDescription)
	}
	for _, p := range m.PerformanceFigures {
		n += int(p.OctaneRating)
		for _, a := range p.Acceleration {
			n += int(a.Mph) + int(a.Seconds)
		}
	}
	return n + len(m.Manufacturer) + len(m.Model) + len(m.ActivationCode)
}

func BenchmarkCar(b *testing.B) {
	buf := make([]byte, 0, 1024)
	var w flyweight.Builder
	msg := append([]byte(nil), buildCar(&w, buf[:0])...)
	pb := carPB()
	pbMsg, err := proto.Marshal(pb)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("codecgen/build", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			buildCar(&w, buf[:0])
		}
		c.stop(b)
		b.ReportMetric(float64(len(msg)), "bytes/msg")
	})
	b.Run("codecgen/wrap+read-all", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapCar(msg)
			if err != nil {
				b.Fatal(err)
			}
			sink += readCar(m)
		}
		c.stop(b)
	})
	b.Run("codecgen/wrap+validate+read-all", func(b *testing.B) {
		b.ReportAllocs()
		c := startCPU()
		for b.Loop() {
			m, err := WrapCar(msg)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				b.Fatal(err)
			}
			sink += readCar(m)
		}
		c.stop(b)
	})
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
		c := startCPU()
		for b.Loop() {
			var into CarPB
			if err := proto.Unmarshal(pbMsg, &into); err != nil {
				b.Fatal(err)
			}
			sink += readCarPB(&into)
		}
		c.stop(b)
	})
}

// Both encodings carry the same values, and the codecgen read and build
// paths allocate nothing.
func TestCarSameValues(t *testing.T) {
	var w flyweight.Builder
	m, err := WrapCar(buildCar(&w, nil))
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	raw, err := proto.Marshal(carPB())
	require.NoError(t, err)
	var pb CarPB
	require.NoError(t, proto.Unmarshal(raw, &pb))
	assert.Equal(t, readCarPB(&pb), readCar(m))
	assert.Equal(t, pb.SerialNumber, m.SerialNumber())
	assert.Equal(t, pb.Model, m.Model())
	v := m.ToValue()
	require.Len(t, v.FuelFigures, 3)
	assert.Equal(t, "Combined Cycle", v.FuelFigures[1].UsageDescription)
	require.Len(t, v.PerformanceFigures, 2)
	assert.Equal(t, float32(11.8), v.PerformanceFigures[1].Acceleration[2].Seconds)
	assert.Equal(t, math.Float32bits(pb.PerformanceFigures[1].Acceleration[2].Seconds), math.Float32bits(v.PerformanceFigures[1].Acceleration[2].Seconds))
}

func TestCarAllocatesNothing(t *testing.T) {
	testenv.SkipIfRace(t)
	buf := make([]byte, 0, 1024)
	var w flyweight.Builder
	buildCar(&w, buf[:0]) // the Builder's scratch grows once
	allocs := testing.AllocsPerRun(1000, func() {
		m, err := WrapCar(buildCar(&w, buf[:0]))
		if err != nil {
			panic(err)
		}
		if err := m.Validate(); err != nil {
			panic(err)
		}
		sink += readCar(m)
	})
	assert.Zero(t, allocs)
}
