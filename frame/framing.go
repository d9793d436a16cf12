package frame

import (
	"bytes"
	"encoding/binary"

	"github.com/protosocket-go/protosocket/internal/varint"
)

// SplitKind says what a Framing found at the start of the buffered bytes.
type SplitKind uint8

// The answers a Framing can give. (The fourth, "invalid", is a non-nil
// error from Split.)
const (
	// NeedMore: no whole frame yet; Split.N more bytes, at least, are needed.
	NeedMore SplitKind = iota
	// Complete: a frame of Split.N bytes is here, its payload at
	// [Split.Off, Split.Off+Split.Len).
	Complete
	// Skip: drop the first Split.N bytes (padding, keepalives) and look again.
	Skip
)

// Split is a Framing's answer about the bytes at the start of a buffer.
type Split struct {
	Kind   SplitKind
	N      int    // Complete: frame size; NeedMore: bytes still needed; Skip: bytes to drop
	Off    int    // Complete: payload offset within the frame
	Len    int    // Complete: payload length
	Header Header // Complete: the parsed header (only Length for framings without one)
}

// Framing is a wire format's delimiting rule, so that Reader and Writer
// (and socket/) can carry any format. Implementations must be stateless
// and safe for concurrent use.
//
// Split inspects b, which starts at a frame boundary, and reports a
// Complete frame, that it NeedMore bytes, or that the first bytes are to
// be Skipped; or it returns an error matching ErrFrameTooLarge (a length
// over maxSize, which it must report as soon as the length is known) or
// ErrMalformed. It must never report a frame or a need whose payload
// exceeds maxSize, nor read past b.
//
// AppendPrefix appends what precedes payload on the wire (a header, a
// length) to dst, or returns an error (ErrFrameTooLarge, ErrMalformed,
// ErrLineBreak) leaving dst unchanged. Suffix returns the constant bytes
// that follow every payload (nil for length-prefixed formats); callers
// must not modify it. Overhead is the most bytes a frame adds around its
// payload.
type Framing interface {
	Split(b []byte, maxSize int) (Split, error)
	AppendPrefix(dst []byte, h Header, payload []byte) ([]byte, error)
	Suffix() []byte
	Overhead() int
}

// The framings this package provides.
var (
	// Default is protosocket's own format: a 16-byte little-endian header
	// (length, version, kind, flags, stream id, type id), an optional
	// CRC32C, then the payload. See docs/wire.md.
	Default Framing = defaultFraming{}
	// Varint is a uvarint payload length then the payload: the protobuf
	// writeDelimitedTo convention.
	Varint Framing = varintFraming{}
	// Fixed32 is a 4-byte big-endian payload length then the payload.
	Fixed32 Framing = fixed32Framing{}
	// Lines is newline-delimited text: each payload is followed by "\n";
	// on read exactly one optional '\r' before the '\n' is dropped. A
	// payload never contains '\n' nor ends in '\r', on read and on write
	// alike: a line ending in "\r\r\n" reads as ErrMalformed and such a
	// payload is refused on write with ErrLineBreak, so whatever one side
	// accepts the other does too. A '\r' elsewhere in a line is payload.
	// The maximum applies to the line without its terminator.
	Lines Framing = lineFraming{}
)

// AppendFramed appends one whole frame of framing f to dst: f's prefix
// for h and payload, payload, then f's suffix. On error (those of
// f.AppendPrefix) dst is returned unchanged.
func AppendFramed(dst []byte, f Framing, h Header, payload []byte) ([]byte, error) {
	return AppendFramedRef(dst, f, &h, payload)
}

// AppendFramedRef is AppendFramed with the header passed by reference
// (not kept): for a per-message caller that fills a Header field by field
// and frames it at once. A Header passed by value is copied to the stack
// with two overlapping 16-byte moves, which the processor cannot forward
// from the caller's narrow stores (a store-forwarding stall: a third of
// socket's BenchmarkSendSmall before its fold framed by reference).
func AppendFramedRef(dst []byte, f Framing, h *Header, payload []byte) ([]byte, error) {
	if _, ok := f.(defaultFraming); ok {
		if h.Flags&(FlagCRC|FlagsReserved) == 0 && len(payload) <= HardMaxFrameSize {
			return appendPlain(dst, h.Kind, h.Flags, h.Stream, h.Type, payload), nil
		}
		return AppendFrame(dst, *h, payload)
	}
	dst, err := f.AppendPrefix(dst, *h, payload)
	if err != nil {
		return dst, err
	}
	dst = append(dst, payload...)
	return append(dst, f.Suffix()...), nil
}

type defaultFraming struct{}

func (defaultFraming) Split(b []byte, maxSize int) (Split, error) {
	if len(b) < HeaderSize {
		return Split{Kind: NeedMore, N: HeaderSize - len(b)}, nil
	}
	h, err := parseFixed(b)
	if err != nil {
		return Split{}, err
	}
	if uint64(h.Length) > uint64(maxSize) {
		return Split{}, newError(ErrFrameTooLarge, "payload length %d exceeds maximum %d", h.Length, maxSize)
	}
	hs := h.Size()
	total := hs + int(h.Length)
	if len(b) < total {
		return Split{Kind: NeedMore, N: total - len(b)}, nil
	}
	if h.Flags&FlagCRC != 0 {
		h.CRC = binary.LittleEndian.Uint32(b[HeaderSize:])
		if got := Checksum(b[hs:total]); got != h.CRC {
			return Split{}, newError(ErrChecksum, "header says %#08x, payload has %#08x", h.CRC, got)
		}
	}
	return Split{Kind: Complete, N: total, Off: hs, Len: int(h.Length), Header: h}, nil
}

func (defaultFraming) AppendPrefix(dst []byte, h Header, payload []byte) ([]byte, error) {
	return appendPrefix(dst, h, payload)
}

func (defaultFraming) Suffix() []byte { return nil }
func (defaultFraming) Overhead() int  { return MaxHeaderSize }

type varintFraming struct{}

func (varintFraming) Split(b []byte, maxSize int) (Split, error) {
	v, n, r := varint.ParseLength(b, uint64(maxSize))
	switch r {
	case varint.NeedMore:
		return Split{Kind: NeedMore, N: 1}, nil
	case varint.TooLarge:
		return Split{}, newError(ErrFrameTooLarge, "payload length %d or more exceeds maximum %d", v, maxSize)
	case varint.Overflow:
		return Split{}, newError(ErrMalformed, "varint overflows 64 bits")
	}
	total := n + int(v)
	if len(b) < total {
		return Split{Kind: NeedMore, N: total - len(b)}, nil
	}
	return Split{Kind: Complete, N: total, Off: n, Len: int(v), Header: Header{Length: uint32(v)}}, nil
}

func (varintFraming) AppendPrefix(dst []byte, _ Header, payload []byte) ([]byte, error) {
	if len(payload) > HardMaxFrameSize {
		return dst, newError(ErrFrameTooLarge, "payload length %d exceeds the hard maximum %d", len(payload), HardMaxFrameSize)
	}
	return binary.AppendUvarint(dst, uint64(len(payload))), nil
}

func (varintFraming) Suffix() []byte { return nil }
func (varintFraming) Overhead() int  { return binary.MaxVarintLen32 }

type fixed32Framing struct{}

func (fixed32Framing) Split(b []byte, maxSize int) (Split, error) {
	if len(b) < 4 {
		return Split{Kind: NeedMore, N: 4 - len(b)}, nil
	}
	v := binary.BigEndian.Uint32(b)
	if uint64(v) > uint64(maxSize) {
		return Split{}, newError(ErrFrameTooLarge, "payload length %d exceeds maximum %d", v, maxSize)
	}
	total := 4 + int(v)
	if len(b) < total {
		return Split{Kind: NeedMore, N: total - len(b)}, nil
	}
	return Split{Kind: Complete, N: total, Off: 4, Len: int(v), Header: Header{Length: v}}, nil
}

func (fixed32Framing) AppendPrefix(dst []byte, _ Header, payload []byte) ([]byte, error) {
	if len(payload) > HardMaxFrameSize {
		return dst, newError(ErrFrameTooLarge, "payload length %d exceeds the hard maximum %d", len(payload), HardMaxFrameSize)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(len(payload))), nil
}

func (fixed32Framing) Suffix() []byte { return nil }
func (fixed32Framing) Overhead() int  { return 4 }

type lineFraming struct{}

var newline = []byte{'\n'}

func (lineFraming) Split(b []byte, maxSize int) (Split, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		// A line may hold maxSize bytes plus a '\r' before its '\n'.
		if len(b) > maxSize+1 || (len(b) == maxSize+1 && b[maxSize] != '\r') {
			return Split{}, newError(ErrFrameTooLarge, "line longer than maximum %d", maxSize)
		}
		return Split{Kind: NeedMore, N: 1}, nil
	}
	n := i
	if n > 0 && b[n-1] == '\r' {
		n--
		if n > 0 && b[n-1] == '\r' {
			return Split{}, newError(ErrMalformed, "line ends in \"\\r\\r\\n\": a payload cannot end in '\\r'")
		}
	}
	if n > maxSize {
		return Split{}, newError(ErrFrameTooLarge, "line of %d bytes exceeds maximum %d", n, maxSize)
	}
	return Split{Kind: Complete, N: i + 1, Off: 0, Len: n, Header: Header{Length: uint32(n)}}, nil
}

func (lineFraming) AppendPrefix(dst []byte, _ Header, payload []byte) ([]byte, error) {
	if len(payload) > HardMaxFrameSize {
		return dst, newError(ErrFrameTooLarge, "payload length %d exceeds the hard maximum %d", len(payload), HardMaxFrameSize)
	}
	if bytes.IndexByte(payload, '\n') >= 0 {
		return dst, newError(ErrLineBreak, "payload contains '\\n'")
	}
	if len(payload) > 0 && payload[len(payload)-1] == '\r' {
		return dst, newError(ErrLineBreak, "payload ends in '\\r', which would read back as part of the terminator")
	}
	return dst, nil
}

func (lineFraming) Suffix() []byte { return newline }
func (lineFraming) Overhead() int  { return 2 }
