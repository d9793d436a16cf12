package frame

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// Wire constants of the default frame format (docs/wire.md).
const (
	// Version is the only header version this package reads and writes.
	Version = 1
	// HeaderSize is the size of the fixed header.
	HeaderSize = 16
	// CRCSize is the size of the optional CRC32C that follows the header.
	CRCSize = 4
	// MaxHeaderSize is HeaderSize plus CRCSize.
	MaxHeaderSize = HeaderSize + CRCSize

	// FlagCRC (bit 0) marks a CRC32C of the payload after the header.
	FlagCRC uint16 = 1 << 0
	// FlagsReserved are bits 1..7: they must be zero, else the frame is
	// malformed.
	FlagsReserved uint16 = 0x00fe
	// FlagsUpper are bits 8..15, free for upper layers; frame/ carries
	// them untouched.
	FlagsUpper uint16 = 0xff00

	// KindData is the kind of a plain data frame. Kinds 1..63 are reserved
	// for socket/ and rpc; 64..255 are free for applications.
	KindData uint8 = 0
	// KindAppMin is the first kind free for applications.
	KindAppMin uint8 = 64

	// DefaultMaxFrameSize is the default maximum payload length.
	DefaultMaxFrameSize = 4 << 20
	// HardMaxFrameSize is the largest MaxFrameSize allowed: a payload plus
	// any framing overhead must fit an int32 on every platform.
	HardMaxFrameSize = math.MaxInt32 - 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC32C (Castagnoli) of payload, as carried in the
// header when FlagCRC is set.
func Checksum(payload []byte) uint32 { return crc32.Checksum(payload, castagnoli) }

// Header is the parsed header of a default-format frame. Other framings
// fill only Length.
type Header struct {
	Length uint32 // payload length in bytes (after the header and CRC)
	Kind   uint8  // frame kind; 0 = data (KindData)
	Flags  uint16 // FlagCRC, reserved bits 1..7 (zero), upper-layer bits 8..15
	Stream uint32 // stream / correlation id
	Type   uint32 // message type id
	CRC    uint32 // CRC32C of the payload; meaningful only with FlagCRC
}

// Size returns the encoded size of h: HeaderSize, plus CRCSize with FlagCRC.
func (h Header) Size() int {
	if h.Flags&FlagCRC != 0 {
		return MaxHeaderSize
	}
	return HeaderSize
}

// AppendHeader appends the encoding of h (with version 1) to dst and
// returns the extended slice, like binary.AppendUvarint. It writes the
// fields as given and does not validate them: use AppendFrame to fill
// Length and CRC from a payload and reject reserved flag bits.
func AppendHeader(dst []byte, h Header) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, h.Length)
	dst = append(dst, Version, h.Kind)
	dst = binary.LittleEndian.AppendUint16(dst, h.Flags)
	dst = binary.LittleEndian.AppendUint32(dst, h.Stream)
	dst = binary.LittleEndian.AppendUint32(dst, h.Type)
	if h.Flags&FlagCRC != 0 {
		dst = binary.LittleEndian.AppendUint32(dst, h.CRC)
	}
	return dst
}

// appendPlain appends a default-format frame without CRC (flags valid,
// payload at most HardMaxFrameSize: the caller checked): the header as two
// 8-byte words and the payload, with one capacity check. It takes the
// header's fields, not a Header: a Header passed on is copied through the
// stack with wide loads over narrow stores, a store-forwarding stall per
// frame that cost about a tenth of the pipelined echo's CPU
// (BenchmarkPipelinedEcho in bench/socketbench).
func appendPlain(dst []byte, kind uint8, flags uint16, stream, typ uint32, payload []byte) []byte {
	n, need := len(dst), HeaderSize+len(payload)
	if cap(dst)-n >= need {
		dst = dst[:n+need]
	} else {
		dst = append(dst, make([]byte, need)...)
	}
	b := dst[n:]
	_ = b[HeaderSize-1]
	binary.LittleEndian.PutUint64(b[0:], uint64(uint32(len(payload)))|uint64(Version)<<32|uint64(kind)<<40|uint64(flags)<<48)
	binary.LittleEndian.PutUint64(b[8:], uint64(stream)|uint64(typ)<<32)
	copy(b[HeaderSize:], payload)
	return dst
}

// putHeader encodes h (with version 1) into b, which is exactly h.Size()
// bytes long.
func putHeader(b []byte, h Header) {
	_ = b[HeaderSize-1]
	binary.LittleEndian.PutUint32(b[0:], h.Length)
	b[4] = Version
	b[5] = h.Kind
	binary.LittleEndian.PutUint16(b[6:], h.Flags)
	binary.LittleEndian.PutUint32(b[8:], h.Stream)
	binary.LittleEndian.PutUint32(b[12:], h.Type)
	if h.Flags&FlagCRC != 0 {
		binary.LittleEndian.PutUint32(b[HeaderSize:], h.CRC)
	}
}

// AppendFrame appends a whole frame (header, CRC if h.Flags has FlagCRC,
// payload) to dst. It sets Length (and CRC) from payload. It fails with
// ErrMalformed if h has reserved flag bits set and with ErrFrameTooLarge if
// payload is over HardMaxFrameSize; dst is returned unchanged then.
func AppendFrame(dst []byte, h Header, payload []byte) ([]byte, error) {
	if h.Flags&(FlagCRC|FlagsReserved) == 0 && len(payload) <= HardMaxFrameSize {
		return appendPlain(dst, h.Kind, h.Flags, h.Stream, h.Type, payload), nil
	}
	dst, err := appendPrefix(dst, h, payload)
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

func appendPrefix(dst []byte, h Header, payload []byte) ([]byte, error) {
	if h.Flags&FlagsReserved != 0 {
		return dst, newError(ErrMalformed, "reserved flag bits %#04x set", h.Flags&FlagsReserved)
	}
	if len(payload) > HardMaxFrameSize {
		return dst, newError(ErrFrameTooLarge, "payload length %d exceeds the hard maximum %d", len(payload), HardMaxFrameSize)
	}
	h.Length = uint32(len(payload))
	if h.Flags&FlagCRC != 0 {
		h.CRC = Checksum(payload)
	}
	return AppendHeader(dst, h), nil
}

// ParseHeader parses the header (and CRC field, if flagged) at the start
// of b. It does not check the payload or its length against a maximum.
// Errors: ErrTruncated if b is shorter than the header, ErrMalformed for a
// version other than 1 or reserved flag bits set.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, newError(ErrTruncated, "%d of %d header bytes", len(b), HeaderSize)
	}
	h, err := parseFixed(b)
	if err != nil {
		return Header{}, err
	}
	if h.Flags&FlagCRC != 0 {
		if len(b) < MaxHeaderSize {
			return Header{}, newError(ErrTruncated, "%d of %d header bytes", len(b), MaxHeaderSize)
		}
		h.CRC = binary.LittleEndian.Uint32(b[HeaderSize:])
	}
	return h, nil
}

// parseFixed parses the 16 fixed bytes (len(b) >= HeaderSize), not the CRC.
func parseFixed(b []byte) (Header, error) {
	if b[4] != Version {
		return Header{}, newError(ErrMalformed, "version %d, want %d", b[4], Version)
	}
	h := Header{
		Length: binary.LittleEndian.Uint32(b[0:]),
		Kind:   b[5],
		Flags:  binary.LittleEndian.Uint16(b[6:]),
		Stream: binary.LittleEndian.Uint32(b[8:]),
		Type:   binary.LittleEndian.Uint32(b[12:]),
	}
	if h.Flags&FlagsReserved != 0 {
		return Header{}, newError(ErrMalformed, "reserved flag bits %#04x set", h.Flags&FlagsReserved)
	}
	return h, nil
}
