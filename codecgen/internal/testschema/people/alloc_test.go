package people

import (
	"math"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads every field through the non-allocating accessors and
// iterates every group.
func readAll(m Person) int {
	n := len(m.NameView()) + len(m.PhoneView()) + len(m.Blob()) + len(m.MottoView())
	n += int(m.BirthDay()) + int(m.Siblings()) + int(m.Money()) + int(m.Color()) + int(m.Level()) + int(m.Perms())
	if m.Spouse() {
		n++
	}
	n += int(m.Home().X) + int(m.Bounds().Max.Y) + int(m.Hash()[0]) + int(m.Ids()[1]) + int(m.Weights()[0])
	if a, ok := m.Age(); ok {
		n += int(a)
	}
	if m.HasNick() {
		n += len(m.NickView())
	}
	for i := 0; i < m.ScoresLen(); i++ {
		n += int(m.ScoresAt(i))
	}
	for i := 0; i < m.FlagsLen(); i++ {
		if m.FlagsAt(i) {
			n++
		}
	}
	for i := 0; i < m.RatiosLen(); i++ {
		n += int(m.RatiosAt(i))
	}
	n += int(m.Tiny()) + int(m.Small()) + int(m.U32()) + int(m.U64()) + int(m.F32())
	for _, k := range m.Kids().All() {
		n += len(k.NameView()) + int(k.Age()) + int(k.Favourite())
		toys := k.Toys()
		for i := 0; i < toys.Len(); i++ {
			toy := toys.At(i)
			n += len(toy.LabelView()) + int(toy.Price())
		}
	}
	n += int(m.Rank()) + int(m.Mood())
	for p := range m.Pets().Values() {
		n += len(p.SpeciesView()) + int(p.Legs())
	}
	if l, ok := m.Loc(); ok {
		n += int(l.Y)
	}
	return n
}

func TestDecodeAllocatesNothing(t *testing.T) {
	testenv.SkipIfRace(t)
	v := samplePerson()
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	sum := 0
	allocs := testing.AllocsPerRun(500, func() {
		m, err := WrapPerson(b)
		if err != nil {
			panic(err)
		}
		sum += readAll(m)
		if m.Validate() != nil {
			panic("invalid")
		}
	})
	assert.Zero(t, allocs, "Wrap + every accessor + group iteration + Validate")
	assert.NotZero(t, sum)
}

func TestBuildAllocatesNothing(t *testing.T) {
	testenv.SkipIfRace(t)
	buf := make([]byte, 0, 4096)
	var hash [16]byte
	var out []byte
	// A reused Builder: its small group stacks grow on first use (the
	// AllocsPerRun warm-up run) and are kept by Reset.
	var b flyweight.Builder
	allocs := testing.AllocsPerRun(500, func() {
		b.Reset(buf[:0])
		p := BuildPerson(&b)
		p.SetName("Ada Lovelace")
		p.SetBirthDay(-4_000_000)
		p.SetPhone("+44 20")
		p.SetSiblings(2)
		p.SetSpouse(true)
		p.SetMoney(12.5)
		p.SetColor(ColorBlue)
		p.SetPerms(PermsRead | PermsWrite)
		p.SetHome(Point{X: 1, Y: 2})
		p.SetHash(hash)
		p.SetAge(36)
		p.SetNick("Ada")
		p.SetBlob([]byte{1, 2, 3})
		p.SetScores([]int32{1, 2, 3})
		kids := p.BeginKids()
		for i := 0; i < 3; i++ {
			k := kids.Add()
			k.SetName("kid")
			k.SetAge(uint8(i))
			toys := k.BeginToys()
			toy := toys.Add()
			toy.SetLabel("ball")
			toys.End()
		}
		kids.End()
		p.SetRank(9)
		pets := p.BeginPets()
		pet := pets.Add()
		pet.SetSpecies("cat")
		pets.End()
		p.SetLoc(Point{X: 3})
		var err error
		out, err = p.Finish()
		if err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
	m, err := WrapPerson(out)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	assert.Equal(t, "Ada Lovelace", m.Name())
	assert.Equal(t, int32(9), m.Rank())
	assert.Equal(t, ColorGreen, m.Mood(), "unset field with a default reads as the default")
	kids := m.Kids()
	assert.Equal(t, 3, kids.Len())
}

func TestBuilderOrderEnforced(t *testing.T) {
	var b flyweight.Builder
	p := BuildPerson(&b)
	p.SetPhone("later slot first")
	p.SetName("earlier slot")
	_, err := p.Finish()
	assert.ErrorIs(t, err, flyweight.ErrBuildOrder)
}

// Constants, char enums and fixed-length strings.
func TestConstCharAndFixedStrings(t *testing.T) {
	var b flyweight.Builder
	out, err := BuildPerson(&b).SetCodeString("XLON").SetGrade(GradeFail).Finish()
	require.NoError(t, err)
	m, err := WrapPerson(out)
	require.NoError(t, err)
	assert.Equal(t, "XLON", m.CodeString())
	assert.Equal(t, [6]byte{'X', 'L', 'O', 'N', 0, 0}, m.Code())
	assert.Equal(t, Grade('F'), m.Grade())
	assert.Equal(t, "fail", m.Grade().String())
	assert.Equal(t, "Earth", m.Planet())
	assert.Equal(t, uint8(150), m.MaxAge())
	assert.Equal(t, GradeB, m.DefaultGrade())
	assert.Contains(t, m.String(), `code: "XLON"`)
	assert.Contains(t, m.String(), `planet: Earth`)
	assert.Equal(t, PersonPets{}.Kingdom(), "Animalia")

	b.Reset(nil)
	_, err = BuildPerson(&b).SetCodeString("TOOLONG").Finish()
	require.ErrorIs(t, err, flyweight.ErrTooLong)
	var fe *flyweight.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "code", fe.Field)
}

// Optional struct members are null sentinels on the wire.
func TestOptionalStructMembers(t *testing.T) {
	var b flyweight.Builder
	g := Gauge{Level: GaugeLevelNull, Offset: -3, Ratio: float32(math.NaN()), Unit: 7}
	out, err := BuildPerson(&b).SetGauge(g).Finish()
	require.NoError(t, err)
	m, err := WrapPerson(out)
	require.NoError(t, err)
	got := m.Gauge()
	assert.False(t, got.HasLevel())
	assert.True(t, got.HasOffset())
	assert.Equal(t, int8(-3), got.Offset)
	assert.False(t, got.HasRatio())
	assert.Equal(t, uint8(7), got.Unit)
	assert.Equal(t, int8(-128), GaugeOffsetNull)
	assert.Equal(t, uint16(0xffff), GaugeLevelNull)
}
