package evolution

import (
	"testing"

	"github.com/protosocket-go/protosocket/codecgen/internal/testschema/evov1"
	"github.com/protosocket-go/protosocket/codecgen/internal/testschema/evov2"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func v1Order(t *testing.T) []byte {
	v := evov1.OrderValue{
		ID:     42,
		Symbol: "ACME",
		Lines:  []evov1.OrderLinesValue{{Sku: "a", Qty: 1}, {Sku: "b", Qty: -2}},
	}
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	return b
}

func v2Order(t *testing.T) []byte {
	var urgent = true
	v := evov2.OrderValue{
		ID:     42,
		Symbol: "ACME",
		Lines: []evov2.OrderLinesValue{
			{Sku: "a", Qty: 1, Discount: 3, Note: "first"},
			{Sku: "b", Qty: -2, Discount: 9, Note: "second"},
		},
		Price:     99.25,
		Venue:     "XNAS",
		Fees:      []evov2.OrderFeesValue{{Kind: 1, Amount: 5}},
		Urgent:    urgent,
		HasUrgent: true,
	}
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	return b
}

func TestSchemaVersions(t *testing.T) {
	assert.Equal(t, evov1.SchemaID, evov2.SchemaID)
	assert.Equal(t, 1, evov1.SchemaVersion)
	assert.Equal(t, 2, evov2.SchemaVersion)
	assert.Equal(t, evov1.OrderTypeID, evov2.OrderTypeID)
}

// A version-1 writer, a version-2 reader: old fields read back, added
// scalars read as their documented defaults, added variable fields and
// groups read as empty, added optional fields as absent; added fields of
// an existing group likewise.
func TestV1WriterV2Reader(t *testing.T) {
	m, err := evov2.WrapOrder(v1Order(t))
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	assert.Equal(t, uint64(42), m.ID())
	assert.Equal(t, "ACME", m.SymbolView())
	assert.Equal(t, 1.5, m.Price(), "added scalar reads as its default")
	assert.Equal(t, "", m.Venue(), "added variable field reads as empty")
	fees := m.Fees()
	assert.Equal(t, 0, fees.Len(), "added group reads as empty")
	_, ok := m.Urgent()
	assert.False(t, ok, "added optional field reads as absent")

	lines := m.Lines()
	require.Equal(t, 2, lines.Len())
	l := lines.At(0)
	assert.Equal(t, "a", l.Sku())
	assert.Equal(t, int32(1), l.Qty())
	assert.Equal(t, int16(7), l.Discount(), "scalar added to a group reads as its default")
	assert.Equal(t, "", l.Note())
	assert.Equal(t, int32(-2), lines.At(1).Qty())
}

// A version-2 writer, a version-1 reader: the old reader skips the added
// fixed bytes, slots, group and group fields it does not know.
func TestV2WriterV1Reader(t *testing.T) {
	b := v2Order(t)
	m, err := evov1.WrapOrder(b)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	assert.Equal(t, uint64(42), m.ID())
	assert.Equal(t, "ACME", m.Symbol())
	want := []evov1.OrderLinesValue{{Sku: "a", Qty: 1}, {Sku: "b", Qty: -2}}
	assert.Equal(t, want, m.ToValue().Lines)

	// Re-encoding with the old schema drops what it does not know, and
	// the new reader then sees defaults again.
	v := m.ToValue()
	old, err := v.AppendTo(nil)
	require.NoError(t, err)
	m2, err := evov2.WrapOrder(old)
	require.NoError(t, err)
	assert.Equal(t, 1.5, m2.Price())
	assert.Equal(t, "", m2.Venue())
}

// Same-version round trips, for completeness of the matrix.
func TestSameVersion(t *testing.T) {
	m1, err := evov1.WrapOrder(v1Order(t))
	require.NoError(t, err)
	assert.Equal(t, int32(-2), m1.ToValue().Lines[1].Qty)
	m2, err := evov2.WrapOrder(v2Order(t))
	require.NoError(t, err)
	v := m2.ToValue()
	assert.Equal(t, 99.25, v.Price)
	assert.Equal(t, "XNAS", v.Venue)
	assert.Equal(t, []evov2.OrderFeesValue{{Kind: 1, Amount: 5}}, v.Fees)
	assert.True(t, v.HasUrgent)
	assert.Equal(t, "second", v.Lines[1].Note)
}

// A version-2 writer uses an enum value and a bit that version 1 does not
// define: the version-1 reader accepts the message (Validate passes, adding
// values is a compatible change), reads the raw values and names the field
// through UnknownValue.
func TestNewEnumValueOldReader(t *testing.T) {
	v := evov2.OrderValue{ID: 1, Lines: []evov2.OrderLinesValue{
		{Sku: "a", Side: evov2.SideBuy, Flags: evov2.FlagsHidden},
		{Sku: "b", Side: evov2.SideShort, Flags: evov2.FlagsPostOnly},
	}}
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	m, err := evov1.WrapOrder(b)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	field, ok := m.UnknownValue()
	assert.True(t, ok)
	assert.Equal(t, "Order.lines.side", field)
	lines := m.ToValue().Lines
	require.Len(t, lines, 2)
	assert.Equal(t, evov1.Side(3), lines[1].Side)
	assert.False(t, lines[1].Side.IsKnown())
	assert.Equal(t, "Side(3)", lines[1].Side.String())

	v.Lines[1].Side = evov2.SideSell
	v.Lines[1].Flags = evov2.FlagsIceberg
	b, err = v.AppendTo(nil)
	require.NoError(t, err)
	m, err = evov1.WrapOrder(b)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	field, ok = m.UnknownValue()
	assert.True(t, ok)
	assert.Equal(t, "Order.lines.flags", field)

	// The version-2 reader knows both.
	m2, err := evov2.WrapOrder(b)
	require.NoError(t, err)
	_, ok = m2.UnknownValue()
	assert.False(t, ok)
}

// Compact records across schema versions: a version-1 compact Note reads
// in version 2 with the added fields at their defaults, a version-2
// compact Note (longer fixed block, one more slot) reads in version 1, and
// both read the other version's standard form the same way.
func TestCompactNoteAcrossVersions(t *testing.T) {
	v1 := evov1.NoteValue{ID: 7, Text: "hello"}
	b1, err := v1.AppendTo(nil)
	require.NoError(t, err)
	require.NotZero(t, b1[1]&0x80, "written compact")
	m2, err := evov2.WrapNote(b1)
	require.NoError(t, err)
	require.NoError(t, m2.Validate())
	assert.Equal(t, evov2.NoteValue{ID: 7, Text: "hello", Score: 5}, m2.ToValue())

	v2 := evov2.NoteValue{ID: 8, Text: "hi", Score: 3, Author: "ada"}
	b2, err := v2.AppendTo(nil)
	require.NoError(t, err)
	require.NotZero(t, b2[1]&0x80, "written compact")
	m1, err := evov1.WrapNote(b2)
	require.NoError(t, err)
	require.NoError(t, m1.Validate())
	assert.Equal(t, evov1.NoteValue{ID: 8, Text: "hi"}, m1.ToValue())

	// codecgen's TestCheckEvolutionSchemas checks the two schemas with
	// codecgen check.
	assert.Equal(t, evov1.NoteTypeID, evov2.NoteTypeID)
}
