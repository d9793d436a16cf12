package flyweight

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRefCheckKeysByField: under -tags psdebug a RefCheck keeps one entry
// per field, so a value replaced through the field's other setter (SetXBytes,
// then SetX) is no longer checked, while a kept value that changed still
// panics naming the setter that set it.
func TestRefCheckKeysByField(t *testing.T) {
	if !Debug {
		t.Skip("checked under -tags psdebug")
	}
	buf := []byte("Ada")
	var c RefCheck
	c.KeepField("Name", "SetNameBytes", StringView(buf))
	c.KeepField("Name", "SetName", "final")
	buf[0] = 'E' // reused: the builder no longer refers to it
	assert.NotPanics(t, func() { c.Check("TBuilder") })

	buf = []byte("Ada")
	c = RefCheck{}
	c.KeepField("Name", "SetName", "final")
	c.KeepField("Name", "SetNameBytes", StringView(buf))
	c.KeepField("Phone", "SetPhone", "555")
	buf[0] = 'E'
	assert.PanicsWithValue(t, "flyweight: the value given to TBuilder.SetNameBytes changed before Finish: the builder keeps strings and byte slices by reference until Finish (copy a view of a reused buffer before setting it)", func() { c.Check("TBuilder") })

	// Another field's setter does not replace the entry.
	buf = []byte("Ada")
	c = RefCheck{}
	c.KeepField("Name", "SetName", StringView(buf))
	c.KeepField("Phone", "SetPhone", "final")
	buf[0] = 'E'
	assert.PanicsWithValue(t, "flyweight: the value given to TBuilder.SetName changed before Finish: the builder keeps strings and byte slices by reference until Finish (copy a view of a reused buffer before setting it)", func() { c.Check("TBuilder") })
}
