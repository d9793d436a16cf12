package frame_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

// A Writer Reset to another destination writes there, with the new
// options, and counts into the counters preset for it (internal/framehook,
// socket's hook); its own counts restart.
func TestWriterReset(t *testing.T) {
	var first, second bytes.Buffer
	w := frame.NewWriter(&first, frame.WriterOptions{})
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("one")))
	require.NoError(t, w.Flush())
	assert.Equal(t, uint64(1), w.Stats().Frames)

	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("dropped")))
	var counts framehook.WriterCounters
	framehook.PresetWriter(w, nil, &counts)
	w.Reset(&second, frame.WriterOptions{Framing: frame.Lines})
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("two")))
	require.NoError(t, w.Flush())
	assert.Equal(t, "two\n", second.String(), "the new framing, and nothing buffered before Reset")
	assert.Equal(t, frame.WriterStats{Frames: 1, Bytes: 4, Syscalls: 1}, w.Stats())
	assert.Equal(t, []uint64{1, 4, 1}, []uint64{counts.Frames.Load(), counts.Bytes.Load(), counts.Syscalls.Load()})
	assert.Equal(t, len(mustEncode(t, "one")), first.Len(), "the first destination got nothing more")

	w.Reset(&first, frame.WriterOptions{})
	assert.Equal(t, frame.WriterStats{}, w.Stats(), "own counters restart: a preset lasts one Reset")
	assert.Panics(t, func() { w.Reset(&first, frame.WriterOptions{MaxFrameSize: -1}) })
}

// mustEncode returns payload framed in the default format.
func mustEncode(t *testing.T, payload string) []byte {
	b, err := frame.AppendFrame(nil, frame.Header{}, []byte(payload))
	require.NoError(t, err)
	return b
}

// Reset to a TCP connection with its RawConn preset allocates nothing, so
// a pooled Writer moves between connections for free.
func TestWriterResetAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	c, _ := tcpPair(t)
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var counts framehook.WriterCounters
	w := frame.NewWriter(io.Discard, frame.WriterOptions{})
	allocs := testing.AllocsPerRun(100, func() {
		framehook.PresetWriter(w, rc, &counts)
		w.Reset(c, frame.WriterOptions{})
		w.Reset(nil, frame.WriterOptions{})
	})
	assert.Zero(t, allocs)
	framehook.PresetWriter(w, rc, nil)
	w.Reset(c, frame.WriterOptions{})
	assert.True(t, w.Writev())
}
