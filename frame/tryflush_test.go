package frame_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
)

// TryFlush writes what the socket takes now and keeps the rest: with a
// peer that does not read, it returns done false once the socket buffers
// are full, refuses new frames meanwhile, and a later Flush writes the rest,
// so the peer reads every frame whole and in order.
func TestTryFlushLeavesTheRestForFlush(t *testing.T) {
	c, s := tcpPair(t)
	require.NoError(t, c.SetWriteBuffer(64<<10))
	require.NoError(t, s.SetReadBuffer(64<<10))
	w := frame.NewWriter(c, frame.WriterOptions{})
	require.True(t, w.Writev())
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i%3000) }

	// Small batches flush at once while the buffers have room; then one
	// does not.
	sent, done := 0, true
	for done && sent < 100000 {
		for range 8 {
			require.NoError(t, w.WriteFrame(frame.Header{}, payload(sent)))
			sent++
		}
		var err error
		done, err = w.TryFlush()
		require.NoError(t, err)
	}
	require.False(t, done, "the socket never filled")
	assert.ErrorIs(t, w.WriteFrame(frame.Header{}, []byte("x")), frame.ErrFlushPending)
	assert.ErrorIs(t, w.WriteEncoded(nil, 0), frame.ErrFlushPending)

	got := readFrames(s, frame.ReaderOptions{}, sent+1, false)
	require.NoError(t, w.Flush())
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("after")))
	done, err := w.TryFlush()
	require.NoError(t, err)
	// The peer reads meanwhile, so this small one may or may not have gone
	// out at once; Flush finishes it either way.
	_ = done
	require.NoError(t, w.Flush())
	frames := <-got
	require.Len(t, frames, sent+1)
	for i := range sent {
		require.Equal(t, payload(i), frames[i], "frame %d", i)
	}
	assert.Equal(t, "after", string(frames[sent]))
	st := w.Stats()
	assert.Equal(t, uint64(sent+1), st.Frames)
}

// Without writev TryFlush is Flush: always done.
func TestTryFlushWithoutWritev(t *testing.T) {
	var b bytes.Buffer
	w := frame.NewWriter(&b, frame.WriterOptions{})
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("hi")))
	done, err := w.TryFlush()
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, frame.HeaderSize+2, b.Len())
}
