package frame

import (
	"github.com/protosocket-go/protosocket/internal/varint"
	"github.com/protosocket-go/protosocket/pool"
)

// The Reader's skip mode (ReaderOptions.SkipOversized): a frame whose
// announced payload length is over MaxFrameSize, but within MaxSkipSize, is
// handed up at once as its header with Frame.Oversized set and no payload,
// and its bytes are discarded as they arrive. This file owns that rule.
//
// State: Reader.skipMax (0: off) and Reader.skipLeft, the bytes of the
// skipped frame still to discard. Invariant: when Next returns with
// skipLeft > 0, nothing is buffered (rd == wr), so Next's inline fast path
// never parses skipped bytes as a header; and the Reader keeps a slab of
// SlabSize while it skips, so a caller that bounds the time to complete a
// started frame (socket's FrameTimeout, by the slab it holds; or
// internal/framehook's ReaderPartial) bounds the skip too.

// DefaultMaxSkipSize is ReaderOptions.MaxSkipSize's default: the largest
// announced payload the skip mode discards rather than failing the
// stream. A skipped frame costs no memory beyond one SlabSize slab, only
// the time to receive it (bounded by a caller's frame timeout: 1 GiB is
// about 8 s at 1 Gb/s, within socket's 30 s DefaultFrameTimeout); above it
// a length is taken for garbage or an attack and the stream fails with
// ErrFrameTooLarge, as without skip mode.
const DefaultMaxSkipSize = 1 << 30

// skipsLengths reports whether f is one of this package's length-prefixed
// framings, whose oversized frames can be skipped.
func skipsLengths(f Framing) bool {
	switch f.(type) {
	case defaultFraming, fixed32Framing, varintFraming:
		return true
	}
	return false
}

// splitOversized reads the prefix of the frame at the start of b, whose
// payload length Split found over the maximum: a Complete split whose N is
// the whole frame (prefix and announced payload, not all in b), Off the
// prefix size and Len the announced length; or NeedMore (a varint cut
// short); or ErrFrameTooLarge when the length is over skipMax, ErrMalformed
// for a bad prefix. It must only be called for framings skipsLengths
// accepts.
func splitOversized(f Framing, b []byte, skipMax int) (Split, error) {
	switch f.(type) {
	case defaultFraming:
		if len(b) < HeaderSize {
			return Split{Kind: NeedMore, N: HeaderSize - len(b)}, nil
		}
		h, err := parseFixed(b)
		if err != nil {
			return Split{}, err
		}
		if uint64(h.Length) > uint64(skipMax) {
			return Split{}, newError(ErrFrameTooLarge, "payload length %d exceeds the skip limit %d", h.Length, skipMax)
		}
		hs := h.Size()
		return Split{Kind: Complete, N: hs + int(h.Length), Off: hs, Len: int(h.Length), Header: h}, nil
	case fixed32Framing:
		if len(b) < 4 {
			return Split{Kind: NeedMore, N: 4 - len(b)}, nil
		}
		n := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		if n > uint64(skipMax) {
			return Split{}, newError(ErrFrameTooLarge, "payload length %d exceeds the skip limit %d", n, skipMax)
		}
		return Split{Kind: Complete, N: 4 + int(n), Off: 4, Len: int(n), Header: Header{Length: uint32(n)}}, nil
	default: // varintFraming
		v, n, res := varint.ParseLength(b, uint64(skipMax))
		switch res {
		case varint.NeedMore:
			return Split{Kind: NeedMore, N: 1}, nil
		case varint.TooLarge:
			return Split{}, newError(ErrFrameTooLarge, "payload length %d or more exceeds the skip limit %d", v, skipMax)
		case varint.Overflow:
			return Split{}, newError(ErrMalformed, "varint overflows 64 bits")
		}
		return Split{Kind: Complete, N: n + int(v), Off: n, Len: int(v), Header: Header{Length: uint32(v)}}, nil
	}
}

// skipFrame is next's answer to a Split that found the frame at buf[rd:]
// over MaxFrameSize (splitErr), in skip mode: the oversized frame to hand
// up (skip set), or need more bytes to read its length, or the error that
// fails the stream (splitErr itself for a framing that cannot skip, or a
// length over the skip limit).
func (r *Reader) skipFrame(splitErr error) (f Frame, skip bool, need int, err error) {
	if !skipsLengths(r.framing) {
		return Frame{}, false, 0, splitErr
	}
	b := r.buf[r.rd:r.wr]
	sp, err := splitOversized(r.framing, b, int(r.skipMax))
	switch {
	case err != nil:
		return Frame{}, false, 0, err
	case sp.Kind == NeedMore:
		return Frame{}, false, sp.N, nil
	}
	sp.Header.Length = uint32(sp.Len)
	sp.Header.CRC = 0 // the payload is not read: nothing is checked
	took := min(sp.N, len(b))
	r.rd += took
	r.off += int64(took)
	r.skipLeft = uint32(sp.N - took)
	r.partial = false
	r.frames.Add(1)
	return Frame{Header: sp.Header, Oversized: true}, true, 0, nil
}

// discard drops the buffered bytes of the frame being skipped.
func (r *Reader) discard() {
	d := min(r.wr-r.rd, int(r.skipLeft))
	r.rd += d
	r.off += int64(d)
	r.skipLeft -= uint32(d)
}

// rewind makes the whole slab free for the next read while a skip goes on
// and nothing is buffered. It keeps a slab of SlabSize (so the Reader still
// counts as in the middle of a frame): the same one when nobody retained
// a frame of it and it is not a larger, budget-charged one.
func (r *Reader) rewind() {
	if !pool.Debug && !r.charged && r.slab.Refs() == 1 {
		r.rd, r.wr = 0, 0
		return
	}
	r.releaseSlab()
	r.acquire(r.slabSize)
}
