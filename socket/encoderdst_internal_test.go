package socket

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/pool"
)

// dstKeeper is an Encoder that (wrongly) keeps the dst it appended to and
// looks, when it is called, at what the previous one kept.
type dstKeeper struct {
	payload      []byte
	kept         []byte
	prev         *dstKeeper
	prevPoisoned bool
}

func (e *dstKeeper) AppendPayload(dst []byte) ([]byte, error) {
	if e.prev != nil {
		e.prevPoisoned = pool.Poisoned(e.prev.kept)
	}
	out := append(dst, e.payload...)
	e.kept = out // a bug: valid only during the call
	return out, nil
}

// Under psdebug an Encoder's copied dst is poisoned as soon as the writer
// has copied it, not only when the writer goes idle: the next Encoder of
// the same batch (which would otherwise get the same buffer) already
// finds the first one's kept dst poisoned.
func TestEncoderDstPoisonedAfterCopyDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	c, frames := foldConn(t, Options{})
	first := &dstKeeper{payload: bytes.Repeat([]byte{'a'}, 100)}
	second := &dstKeeper{payload: bytes.Repeat([]byte{'b'}, 100), prev: first}
	require.True(t, c.wt.take(tokenWriter)) // this goroutine is the writer: both in one batch
	fw := c.writer()
	for _, e := range []*dstKeeper{first, second} {
		c.encode(fw, &item{enc: e})
	}
	c.flush(fw)
	c.releaseWriter()
	c.wt.release(tokenWriter)
	assert.True(t, second.prevPoisoned, "the first Encoder's kept dst reads as poison while the batch is encoded")
	require.NoError(t, c.Close())
	assert.Equal(t, 2, <-frames, "both frames written")
}
