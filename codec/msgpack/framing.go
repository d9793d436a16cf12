package msgpack

import (
	"encoding/binary"

	"github.com/protosocket-go/protosocket/frame"
)

// Marker is the MessagePack uint32 marker that starts every frame.
const Marker = 0xce

// PrefixSize is the size of a frame's length prefix: the marker and 4
// bytes big-endian.
const PrefixSize = 5

// Framing is protosocket-messagepack's framing as a frame.Framing: set
// socket.Options.Framing to it (Compat's users do).
var Framing frame.Framing = framing{}

type framing struct{}

// Split implements frame.Framing.
func (framing) Split(b []byte, maxSize int) (frame.Split, error) {
	if len(b) > 0 && b[0] != Marker {
		return frame.Split{}, newError(ErrMarker, nil, "found 0x%02x", b[0])
	}
	if len(b) < PrefixSize {
		return frame.Split{Kind: frame.NeedMore, N: PrefixSize - len(b)}, nil
	}
	n := binary.BigEndian.Uint32(b[1:])
	if uint64(n) > uint64(maxSize) {
		return frame.Split{}, newError(ErrTooLarge, nil, "length %d exceeds maximum %d", n, maxSize)
	}
	total := PrefixSize + int(n)
	if len(b) < total {
		return frame.Split{Kind: frame.NeedMore, N: total - len(b)}, nil
	}
	return frame.Split{Kind: frame.Complete, N: total, Off: PrefixSize, Len: int(n), Header: frame.Header{Length: n}}, nil
}

// AppendPrefix implements frame.Framing.
func (framing) AppendPrefix(dst []byte, _ frame.Header, payload []byte) ([]byte, error) {
	if len(payload) > frame.HardMaxFrameSize {
		return dst, newError(ErrTooLarge, nil, "length %d exceeds the hard maximum %d", len(payload), frame.HardMaxFrameSize)
	}
	return binary.BigEndian.AppendUint32(append(dst, Marker), uint32(len(payload))), nil
}

// Suffix implements frame.Framing: none.
func (framing) Suffix() []byte { return nil }

// Overhead implements frame.Framing.
func (framing) Overhead() int { return PrefixSize }
