package socket

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConnLayout pins the sizes the idle-memory budget relies on
// (TestIdleMemoryPerConn, 64-bit platforms): a Conn fills the 320-byte
// size class exactly, so a field added without taking one away moves every
// connection to the 352-byte class; the reader's nbReader fits 96 bytes,
// and the write token and read deadline keep their sizes (16 and 32 bytes:
// no padding).
func TestConnLayout(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("layout is tuned for 64-bit platforms")
	}
	assert.Equal(t, uintptr(320), reflect.TypeFor[Conn]().Size(), "Conn")
	assert.LessOrEqual(t, reflect.TypeFor[nbReader]().Size(), uintptr(96), "nbReader")
	assert.Equal(t, uintptr(16), reflect.TypeFor[writeToken]().Size(), "writeToken")
	assert.Equal(t, uintptr(32), reflect.TypeFor[readDeadline]().Size(), "readDeadline")
	assert.LessOrEqual(t, reflect.TypeFor[Sender]().Size(), uintptr(32), "Sender")
}
