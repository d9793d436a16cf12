package rpc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCallNow: callNow agrees with time.Now (wall part within a second,
// no step of the system clock expected during a test) and carries a
// monotonic reading, so deadlines made from it compare with time.Now.
func TestCallNow(t *testing.T) {
	a := time.Now()
	c := callNow()
	b := time.Now()
	assert.False(t, c.Before(a), "callNow not before an earlier time.Now")
	assert.False(t, b.Before(c), "callNow not after a later time.Now")
	assert.InDelta(t, float64(a.UnixNano()), float64(c.UnixNano()), float64(time.Second), "wall part")
	d := c.Add(50 * time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	assert.False(t, callNow().Before(d), "past the deadline")
}
