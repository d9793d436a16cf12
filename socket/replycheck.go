package socket

import (
	"hash/maphash"

	"github.com/protosocket-go/protosocket/pool"
)

// ReplyAppend's dst under the psdebug build tag. dst (and the slice
// appendPayload returns) is the batch's reply buffer, valid only during
// the ReplyAppend call. Kept and written after it returns, it changes a
// reply already framed (or, once the buffer is written, nothing anyone
// reads); kept and read, it shows the next replies, or another batch's.
// Under the tag ReplyAppend records a hash of the frame it appended; the
// batch's next Reply or ReplyAppend, and the batch's end, check that the
// frame is unchanged (the check at the next call catches a dst kept across
// calls, the common mistake; the one at the end a dst written after the
// last call, before OnBatch returned), and panic with
// MsgReplyAppendDstKept if it changed. A batch buffer is poisoned when it
// goes back to its pool (putBatchBuf), never reused, so a dst read after
// the replies were written reads as poison (pool.Poisoned). Without the
// tag none of this runs.

// MsgReplyAppendDstKept is the panic message under the psdebug build tag
// when the bytes ReplyAppend framed changed after ReplyAppend returned:
// its dst, or the slice appendPayload returned, was kept and written.
const MsgReplyAppendDstKept = "socket: ReplyAppend's dst was written after ReplyAppend returned (dst and the slice appendPayload returns are the batch's reply buffer, valid only during the call)"

// appendSeed hashes ReplyAppend's frames under psdebug.
var appendSeed = maphash.MakeSeed()

// appendCheck is the record of a batch's last ReplyAppend under psdebug.
type appendCheck struct {
	buf        *pool.Buffer // the reply buffer it framed into (nil: none)
	start, end int          // the frame's bytes in buf.B
	sum        uint64       // their hash
}

// noteAppend records the frame b's ReplyAppend just put at rb.B[start:].
// psdebug only.
func (b *Batch) noteAppend(rb *pool.Buffer, start int) {
	b.dbg = appendCheck{buf: rb, start: start, end: len(rb.B), sum: maphash.Bytes(appendSeed, rb.B[start:])}
}

// checkAppend panics with MsgReplyAppendDstKept if the frame of the
// batch's last ReplyAppend changed, and forgets it. It checks only while
// the frame is still in the connection's reply buffer, not handed on to
// be written (then the writer may read it concurrently, and put it back).
// psdebug only; Reader goroutine.
func (b *Batch) checkAppend() {
	d := b.dbg
	b.dbg = appendCheck{}
	if d.buf == nil || b.c == nil || b.c.rbuf != d.buf || len(d.buf.B) < d.end {
		return
	}
	if maphash.Bytes(appendSeed, d.buf.B[d.start:d.end]) != d.sum {
		panic(MsgReplyAppendDstKept)
	}
}

// poisonBatchBuf fills a batch buffer going back to its pool with
// pool.PoisonByte, its whole capacity: under psdebug it is then dropped,
// so a slice of it kept past its lifetime reads as poison.
func poisonBatchBuf(b *pool.Buffer) {
	full := b.B[:cap(b.B)]
	for i := range full {
		full[i] = pool.PoisonByte
	}
}
