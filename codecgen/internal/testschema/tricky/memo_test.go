package tricky

import (
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoOptionalStringForms: an optional string that is present and
// empty is written in the standard form (and reads as present); absent or
// non-empty, the record is compact; all read back as written, through
// AppendTo and through the staged builder.
func TestMemoOptionalStringForms(t *testing.T) {
	for _, tc := range []struct {
		v       MemoValue
		compact bool
	}{
		{MemoValue{N: 1}, true},
		{MemoValue{N: 2, Text: "x", HasText: true}, true},
		{MemoValue{N: 3, HasText: true}, false},
	} {
		b, err := tc.v.AppendTo(nil)
		require.NoError(t, err)
		assert.Equal(t, tc.compact, b[1]&0x80 != 0, "%+v", tc.v)
		m, err := WrapMemo(b)
		require.NoError(t, err)
		assert.Equal(t, tc.v, m.ToValue())
		assert.Equal(t, tc.v.HasText, m.HasText())

		var fb flyweight.Builder
		p := BuildMemo(&fb).SetN(tc.v.N)
		if tc.v.HasText {
			p.SetText(tc.v.Text)
		}
		out, err := p.Finish()
		require.NoError(t, err)
		assert.Equal(t, b, out, "the staged builder writes what AppendTo writes")
	}
}
