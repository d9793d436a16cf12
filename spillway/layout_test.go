package spillway

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLayout checks the memory layout the hot path and the idle-memory
// budget rely on (64-bit platforms): a lane fills exactly one 64-byte size
// class slot, hence one cache line, and core is three cache lines with the
// shared fields starting on the second and the receiver's on the third.
func TestLayout(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("layout is tuned for 64-bit platforms")
	}
	for _, lt := range []reflect.Type{
		reflect.TypeFor[lane[int]](),
		reflect.TypeFor[lane[idleItem]](),
	} {
		assert.Equal(t, uintptr(64), lt.Size(), "%v size", lt)
	}
	for _, ct := range []reflect.Type{
		reflect.TypeFor[core[int]](),
		reflect.TypeFor[core[idleItem]](),
	} {
		assert.Equal(t, uintptr(192), ct.Size(), "%v size", ct)
		weight, _ := ct.FieldByName("weight")
		assert.Equal(t, uintptr(64), weight.Offset, "%v: the shared fields start the second line", ct)
		rmu, _ := ct.FieldByName("rmu")
		assert.Equal(t, uintptr(128), rmu.Offset, "%v: the receiver's fields start the third line", ct)
	}
	assert.LessOrEqual(t, reflect.TypeFor[Sender[int]]().Size(), uintptr(24))
	assert.LessOrEqual(t, reflect.TypeFor[senderState[int]]().Size(), uintptr(24))
}
