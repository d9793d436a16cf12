//go:build psdebug

package frame_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

func TestDebugKeptViewSeesPoison(t *testing.T) {
	require.True(t, pool.Debug)
	wire := encode(t, frame.Default, [][]byte{[]byte("first"), []byte("second")}, 0)
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{})
	defer r.Close()
	f1, err := r.Next()
	require.NoError(t, err)
	kept := f1.Payload // a raw view kept past its lifetime: a bug
	f1.Retain()        // the right way
	retained := f1
	f2, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "second", string(f2.Payload))
	_, err = r.Next() // the Reader lets go of its slab
	require.Error(t, err)
	assert.Equal(t, "first", string(retained.Payload), "still retained")
	retained.Release()
	assert.True(t, pool.Poisoned(kept), "after the last Release the view reads as poison")
	assert.True(t, pool.Poisoned(f2.Payload))
	assert.PanicsWithValue(t, pool.MsgRetainAfterRelease, f2.Retain)
	assert.PanicsWithValue(t, pool.MsgDoubleRelease, f1.Release)
}
