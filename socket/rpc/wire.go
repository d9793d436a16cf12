package rpc

import (
	"encoding/binary"
	"time"

	"github.com/protosocket-go/protosocket/frame"
)

// Frame kinds of the RPC protocol (docs/rpc-wire.md). They live in the
// range 1..63 that frame/ reserves for socket/ and rpc.
const (
	// KindRequest opens a unary call: stream = call id, type = method.
	KindRequest uint8 = 1
	// KindResponse completes a unary call with its response body.
	KindResponse uint8 = 2
	// KindFireAndForget is a request that gets no response of any kind.
	KindFireAndForget uint8 = 3
	// KindStreamOpen opens a stream; its body starts with the opener's
	// initial credit (uint32).
	KindStreamOpen uint8 = 4
	// KindStreamMessage is one message on a stream; it uses one credit.
	KindStreamMessage uint8 = 5
	// KindEnd ends the sender's half of a stream normally. From the
	// server it ends the whole stream.
	KindEnd uint8 = 6
	// KindCancel is the client abandoning a call or stream.
	KindCancel uint8 = 7
	// KindError ends a call or stream with a code and a message.
	KindError uint8 = 8
	// KindCredit grants the peer more stream messages (uint32 body).
	KindCredit uint8 = 9
	// KindPing asks the peer for a KindPong with the same stream id.
	KindPing uint8 = 10
	// KindPong answers a KindPing.
	KindPong uint8 = 11
	// KindGoAway tells the client that the server accepts no new calls.
	KindGoAway uint8 = 12
)

// Flag bits of the RPC protocol, in the upper-layer bits 8..15 of the
// frame header. They are meaningful on opening frames (KindRequest,
// KindFireAndForget, KindStreamOpen) only.
const (
	// FlagDeadline: the payload starts with the call's timeout, a uint64
	// count of nanoseconds relative to the frame's arrival.
	FlagDeadline uint16 = 1 << 8
	// FlagMetadata: a metadata block (uint16 length, then entries)
	// follows the timeout, if any.
	FlagMetadata uint16 = 1 << 9
	// FlagsReserved are the upper-layer bits the RPC protocol does not
	// define; an opening frame with any of them set is rejected with
	// CodeProtocol.
	FlagsReserved uint16 = frame.FlagsUpper &^ (FlagDeadline | FlagMetadata)
)

// Wire limits.
const (
	// MaxMetadataSize is the largest metadata block (its uint16 length).
	MaxMetadataSize = 1<<16 - 1
	// MaxErrorMessage is the longest error message a sender puts on the
	// wire; longer messages are cut.
	MaxErrorMessage = 1024
	// MaxCredit is the most credit a stream may have outstanding; a grant
	// that would exceed it is a protocol error.
	MaxCredit = 1 << 30
)

// Prefix is the optional part of an opening frame's payload before the
// body: the timeout and the metadata.
type Prefix struct {
	// Timeout is the time left for the call when it was sent; zero means
	// no deadline.
	Timeout time.Duration
	// Metadata is a view into the payload, valid as long as the payload.
	Metadata Metadata
}

// Flags returns the header flags that announce p.
func (p Prefix) Flags() uint16 {
	var f uint16
	if p.Timeout > 0 {
		f |= FlagDeadline
	}
	if len(p.Metadata) > 0 {
		f |= FlagMetadata
	}
	return f
}

// AppendPrefix appends the encoding of p to dst (nothing when p is zero),
// like binary.AppendUvarint; announce it with p.Flags(). Metadata over
// MaxMetadataSize is ErrMetadataTooLarge and dst is returned unchanged.
func AppendPrefix(dst []byte, p Prefix) ([]byte, error) {
	if len(p.Metadata) > MaxMetadataSize {
		return dst, ErrMetadataTooLarge
	}
	if p.Timeout > 0 {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(p.Timeout))
	}
	if len(p.Metadata) > 0 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p.Metadata)))
		dst = append(dst, p.Metadata...)
	}
	return dst, nil
}

// ParsePrefix parses the prefix that flags announce at the start of
// payload and returns it with the rest (the body). Errors match
// ErrMalformed. Nothing is copied: both results are views into payload.
func ParsePrefix(flags uint16, payload []byte) (Prefix, []byte, error) {
	var p Prefix
	if flags&FlagsReserved != 0 {
		return p, nil, malformed("reserved flag bits set")
	}
	if flags&FlagDeadline != 0 {
		if len(payload) < 8 {
			return p, nil, malformed("short timeout")
		}
		t := binary.LittleEndian.Uint64(payload)
		if t == 0 || t > uint64(maxTimeout) {
			return p, nil, malformed("timeout out of range")
		}
		p.Timeout = time.Duration(t)
		payload = payload[8:]
	}
	if flags&FlagMetadata != 0 {
		if len(payload) < 2 {
			return p, nil, malformed("short metadata length")
		}
		n := int(binary.LittleEndian.Uint16(payload))
		payload = payload[2:]
		if n > len(payload) {
			return p, nil, malformed("metadata longer than payload")
		}
		md := Metadata(payload[:n])
		if err := md.check(); err != nil {
			return p, nil, err
		}
		p.Metadata = md
		payload = payload[n:]
	}
	return p, payload, nil
}

// maxTimeout bounds a timeout on the wire (about 292 years is what int64
// holds; a year is plenty and keeps time arithmetic far from overflow).
const maxTimeout = 365 * 24 * time.Hour

// Metadata is an encoded block of key/value pairs: for each, a uint8 key
// length, the key, a uint16 little-endian value length, the value. Build
// it with Append over a caller-owned buffer; read it with Get or Range
// without copying.
type Metadata []byte

// Append appends one pair to m, like binary.AppendUvarint. Keys over 255
// bytes or values over 65535 bytes are ErrMetadataTooLarge (m is returned
// unchanged).
func (m Metadata) Append(key string, value []byte) (Metadata, error) {
	if len(key) > 255 || len(value) > 1<<16-1 {
		return m, ErrMetadataTooLarge
	}
	m = append(m, byte(len(key)))
	m = append(m, key...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(value)))
	return append(m, value...), nil
}

// Range calls fn for each pair in order until fn returns false. The
// slices are views into m. A malformed tail is ignored (ParsePrefix has
// rejected it before a handler sees it).
func (m Metadata) Range(fn func(key, value []byte) bool) {
	for len(m) > 0 {
		k, v, rest, ok := m.next()
		if !ok || !fn(k, v) {
			return
		}
		m = rest
	}
}

// Get returns the value of the first pair whose key is key (a view into m).
func (m Metadata) Get(key string) ([]byte, bool) {
	for len(m) > 0 {
		k, v, rest, ok := m.next()
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return v, true
		}
		m = rest
	}
	return nil, false
}

func (m Metadata) next() (k, v []byte, rest Metadata, ok bool) {
	kl := int(m[0])
	if len(m) < 1+kl+2 {
		return nil, nil, nil, false
	}
	k = m[1 : 1+kl]
	vl := int(binary.LittleEndian.Uint16(m[1+kl:]))
	off := 1 + kl + 2
	if len(m) < off+vl {
		return nil, nil, nil, false
	}
	return k, m[off : off+vl], m[off+vl:], true
}

func (m Metadata) check() error {
	for len(m) > 0 {
		_, _, rest, ok := m.next()
		if !ok {
			return malformed("truncated metadata entry")
		}
		m = rest
	}
	return nil
}

// AppendErrorBody appends the body of a KindError or KindGoAway frame:
// the uint32 code, then msg cut to MaxErrorMessage bytes.
func AppendErrorBody(dst []byte, code Code, msg string) []byte {
	if len(msg) > MaxErrorMessage {
		msg = msg[:MaxErrorMessage]
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(code))
	return append(dst, msg...)
}

// ParseErrorBody parses a KindError or KindGoAway body. msg is a view
// into b. A body shorter than 4 bytes is ErrMalformed.
func ParseErrorBody(b []byte) (code Code, msg []byte, err error) {
	if len(b) < 4 {
		return 0, nil, malformed("short error body")
	}
	return Code(binary.LittleEndian.Uint32(b)), b[4:], nil
}

// AppendCredit appends a uint32 credit: the body of KindCredit, and the
// start of KindStreamOpen's body.
func AppendCredit(dst []byte, n uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, n)
}

// ParseCredit parses the uint32 credit at the start of b and returns the
// rest. Zero or over MaxCredit is ErrMalformed.
func ParseCredit(b []byte) (uint32, []byte, error) {
	if len(b) < 4 {
		return 0, nil, malformed("short credit")
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > MaxCredit {
		return 0, nil, malformed("credit out of range")
	}
	return n, b[4:], nil
}

// AppendOpening appends a whole opening frame (header, prefix, body) to
// dst: kind is KindRequest, KindFireAndForget or KindStreamOpen (whose
// body must start with AppendCredit).
func AppendOpening(dst []byte, kind uint8, id, method uint32, p Prefix, body []byte) ([]byte, error) {
	start := len(dst)
	dst = frame.AppendHeader(dst, frame.Header{Kind: kind, Flags: p.Flags(), Stream: id, Type: method})
	dst, err := AppendPrefix(dst, p)
	if err != nil {
		return dst[:start], err
	}
	dst = append(dst, body...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-frame.HeaderSize))
	return dst, nil
}
