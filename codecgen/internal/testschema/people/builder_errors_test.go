package people

import (
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuilderErrorsNameFieldAndOffset: every kind of generated builder
// reports a mistake as a *flyweight.Error naming the field (or the part,
// "header", when a record cannot begin) and where the record at fault
// begins in the output (the open group's data for a group left open),
// here after a 6-byte prefix.
func TestBuilderErrorsNameFieldAndOffset(t *testing.T) {
	prefix := []byte("prefix")
	cases := []struct {
		name  string
		build func() error
		want  flyweight.Error
		text  string
	}{
		{"writing builder: string too long for its field", func() error {
			b := flyweight.NewBuilder(prefix)
			_, err := BuildPerson(&b).SetCodeString("toolong").Finish()
			return err
		}, flyweight.Error{Message: "Person", Field: "code", Offset: 6, Err: flyweight.ErrTooLong},
			"flyweight: string longer than its fixed-length field: Person.code at offset 6"},
		{"writing builder: out of order", func() error {
			b := flyweight.NewBuilder(prefix)
			_, err := BuildPerson(&b).SetMotto("m").SetName("n").Finish()
			return err
		}, flyweight.Error{Message: "Person", Field: "name", Offset: 6, Err: flyweight.ErrBuildOrder}, ""},
		{"writing builder: group left open", func() error {
			b := flyweight.NewBuilder(prefix)
			p := BuildPerson(&b)
			p.BeginKids().Add().SetName("k")
			_, err := p.Finish()
			return err
		}, flyweight.Error{Message: "Person", Field: "kids", Offset: 6 + PersonFixedSize, Err: flyweight.ErrOpenGroup}, ""},
		{"staged builder: begun while a group is open", func() error {
			b := flyweight.NewBuilder(prefix)
			BuildPerson(&b).BeginKids()
			_, err := BuildCard(&b).SetTitle("t").Finish()
			return err
		}, flyweight.Error{Message: "Card", Field: "header", Offset: 6 + PersonFixedSize + 4, Err: flyweight.ErrOpenGroup}, ""},
		{"direct builder: set twice", func() error {
			_, err := AppendCard(prefix).SetTitle("a").SetNote("b").SetNote("c").Finish()
			return err
		}, flyweight.Error{Message: "Card", Field: "note", Offset: 6, Err: flyweight.ErrSetTwice},
			"flyweight: variable field set twice: Card.note at offset 6"},
		{"direct builder: out of order", func() error {
			_, err := AppendCard(prefix).SetURL("u").SetPhoto([]byte("p")).Finish()
			return err
		}, flyweight.Error{Message: "Card", Field: "photo", Offset: 6, Err: flyweight.ErrBuildOrder}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.build()
			var fe *flyweight.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.want, *fe)
			if c.text != "" {
				assert.Equal(t, c.text, err.Error())
			}
		})
	}
}
