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

// TestDebugLargeFramePoison: a large frame (read into a large pooled slab,
// through the partial frame's growth) is poisoned once released too.
func TestDebugLargeFramePoison(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 3<<20)
	wire := encode(t, frame.Default, [][]byte{big}, 0)
	r := frame.NewReader(&dripSource{b: *bytes.NewBuffer(wire), chunk: 64 << 10, closed: true}, frame.ReaderOptions{})
	defer r.Close()
	f, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, len(big), len(f.Payload))
	kept := f.Payload[len(big)-100:]
	_, err = r.Next() // EOF: the Reader lets go of its slab
	require.Error(t, err)
	assert.True(t, pool.Poisoned(kept), "a view of a released large frame reads as poison")
	assert.PanicsWithValue(t, pool.MsgRetainAfterRelease, f.Retain)
}

// TestDebugReferencedPayloadChanged: a payload the Writer references (over
// CopyThreshold, on the writev path) changed before Flush panics in Flush,
// naming the mistake; one left alone, or a small (copied) one changed,
// does not.
func TestDebugReferencedPayloadChanged(t *testing.T) {
	client, server := tcpPair(t)
	got := readFrames(client, frame.ReaderOptions{}, 3, false)
	w := frame.NewWriter(server, frame.WriterOptions{})
	require.True(t, w.Writev())
	big := bytes.Repeat([]byte("r"), 64<<10)
	small := []byte("copied")
	require.NoError(t, w.WriteFrame(frame.Header{}, big))
	require.NoError(t, w.WriteFrame(frame.Header{}, small))
	small[0] = 'C' // copied already: the caller's again
	require.NoError(t, w.Flush())
	require.NoError(t, w.WriteFrame(frame.Header{}, big))
	big[100] = 'X' // the mistake: referenced until Flush returns
	assert.PanicsWithValue(t, frame.MsgRefChanged, func() { _ = w.Flush() })
	assert.Zero(t, w.Buffered(), "the panicking Flush let go of the batch")
	frames := <-got
	require.Len(t, frames, 3)
	assert.Equal(t, "copied", string(frames[1]))
}
