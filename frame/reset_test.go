package frame_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

// A Writer Reset to another destination writes there, with the new
// options, and counts into the Counters it is given; its own counts
// restart.
func TestWriterReset(t *testing.T) {
	var first, second bytes.Buffer
	w := frame.NewWriter(&first, frame.WriterOptions{})
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("one")))
	require.NoError(t, w.Flush())
	assert.Equal(t, uint64(1), w.Stats().Frames)

	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("dropped")))
	var counts frame.WriterCounters
	w.Reset(&second, frame.WriterOptions{Framing: frame.Lines, Counters: &counts})
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("two")))
	require.NoError(t, w.Flush())
	assert.Equal(t, "two\n", second.String(), "the new framing, and nothing buffered before Reset")
	assert.Equal(t, frame.WriterStats{Frames: 1, Bytes: 4, Syscalls: 1}, counts.Stats())
	assert.Equal(t, counts.Stats(), w.Stats())
	assert.Equal(t, len(mustEncode(t, "one")), first.Len(), "the first destination got nothing more")

	w.Reset(&first, frame.WriterOptions{})
	assert.Equal(t, frame.WriterStats{}, w.Stats(), "own counters restart")
	assert.Panics(t, func() { w.Reset(&first, frame.WriterOptions{MaxFrameSize: -1}) })
}

// mustEncode returns payload framed in the default format.
func mustEncode(t *testing.T, payload string) []byte {
	b, err := frame.AppendFrame(nil, frame.Header{}, []byte(payload))
	require.NoError(t, err)
	return b
}

// Reset to a TCP connection with its RawConn given allocates nothing, so a
// pooled Writer moves between connections for free.
func TestWriterResetAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	c, _ := tcpPair(t)
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var counts frame.WriterCounters
	w := frame.NewWriter(io.Discard, frame.WriterOptions{})
	allocs := testing.AllocsPerRun(100, func() {
		w.Reset(c, frame.WriterOptions{RawConn: rc, Counters: &counts})
		w.Reset(nil, frame.WriterOptions{})
	})
	assert.Zero(t, allocs)
	w.Reset(c, frame.WriterOptions{RawConn: rc})
	assert.True(t, w.Writev())
}
