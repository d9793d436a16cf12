package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
	// KindHeader carries response header metadata (a metadata block) for
	// a call or stream, before its response or first message.
	KindHeader uint8 = 13
	// KindTrailer carries response trailer metadata (a metadata block),
	// just before the call's or stream's final frame.
	KindTrailer uint8 = 14
)

// Flag bits of the RPC protocol, in the upper-layer bits 8..15 of the
// frame header. They are meaningful on opening frames (KindRequest,
// KindFireAndForget, KindStreamOpen) only, except FlagErrorDetails.
const (
	// FlagDeadline: the payload starts with the call's timeout, a uint64
	// count of nanoseconds relative to the frame's arrival.
	FlagDeadline uint16 = 1 << 8
	// FlagMetadata: a metadata block (uint16 length, then entries)
	// follows the timeout, if any.
	FlagMetadata uint16 = 1 << 9
	// FlagErrorDetails, on a KindError frame only: the body is the
	// uint32 wire code, a uint16 message length, the message, then the
	// details (the rest). Without it the body is the code then the
	// message (the rest), as every version has sent.
	FlagErrorDetails uint16 = 1 << 10
	// FlagsReserved are the upper-layer bits the RPC protocol does not
	// define on an opening frame; an opening frame with any of them set
	// is rejected.
	FlagsReserved uint16 = frame.FlagsUpper &^ (FlagDeadline | FlagMetadata)
)

// Wire limits.
const (
	// MaxMetadataSize is the largest metadata block (its uint16 length).
	MaxMetadataSize = 1<<16 - 1
	// MaxErrorMessage is the longest error message on the wire: a sender
	// cuts a longer one at a UTF-8 boundary, and a receiver cuts one it
	// receives. 4 KiB holds a stack-free explanation with its context
	// (an earlier 1 KiB cut useful validation messages); the frame's
	// size bounds what a peer makes the receiver hold anyway.
	MaxErrorMessage = 4096
	// MaxErrorDetails is the most structured detail bytes an error frame
	// carries: a sender drops larger details (AppendError says so in the
	// message); a receiver refuses them as malformed.
	MaxErrorDetails = 16 << 10
	// MaxCredit is the most credit a stream may have outstanding; a grant
	// that would exceed it is a protocol error.
	MaxCredit = 1 << 30
	// MaxTimeout bounds a timeout on the wire (int64 nanoseconds hold
	// about 292 years; a year is plenty and keeps time arithmetic far
	// from overflow).
	MaxTimeout = 365 * 24 * time.Hour
)

var (
	// ErrMalformed: bytes that are not a valid RPC frame body. Every
	// parse error of this package matches it (errors.Is).
	ErrMalformed = errors.New("rpc: malformed frame")
	// ErrMetadataTooLarge: a metadata key, value or block over its limit.
	// rpc returns its own ErrMetadataTooLarge (an *rpc.Error) instead.
	ErrMetadataTooLarge = errors.New("rpc: metadata too large")
)

func malformed(detail string) error { return fmt.Errorf("%w: %s", ErrMalformed, detail) }

// Prefix is the optional part of an opening frame's payload before the
// body: the timeout and the metadata.
type Prefix struct {
	// Timeout is the time left for the call when it was sent; zero means
	// no deadline.
	Timeout time.Duration
	// Metadata is an encoded metadata block (AppendPair); after
	// ParsePrefix a view into the payload, valid as long as the payload.
	Metadata []byte
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
		if t == 0 || t > uint64(MaxTimeout) {
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
		md := payload[:n]
		if err := CheckMetadata(md); err != nil {
			return p, nil, err
		}
		p.Metadata = md
		payload = payload[n:]
	}
	return p, payload, nil
}

// AppendPair appends one metadata pair to m: a uint8 key length, the key,
// a uint16 little-endian value length, the value. Keys over 255 bytes or
// values over 65535 bytes are ErrMetadataTooLarge (m is returned
// unchanged).
func AppendPair(m []byte, key string, value []byte) ([]byte, error) {
	if len(key) > 255 || len(value) > 1<<16-1 {
		return m, ErrMetadataTooLarge
	}
	m = append(m, byte(len(key)))
	m = append(m, key...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(value)))
	return append(m, value...), nil
}

// NextPair splits the first pair off a non-empty metadata block: its key
// and value (views into m) and the rest. ok is false when the pair is
// truncated.
func NextPair(m []byte) (k, v, rest []byte, ok bool) {
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

// CheckMetadata reports whether m is a sequence of whole pairs; a
// truncated pair is ErrMalformed.
func CheckMetadata(m []byte) error {
	for len(m) > 0 {
		_, _, rest, ok := NextPair(m)
		if !ok {
			return malformed("truncated metadata entry")
		}
		m = rest
	}
	return nil
}

// AppendErrorBody appends the body of a KindError or KindGoAway frame
// without details: the wire code, then msg cut to MaxErrorMessage bytes at
// a UTF-8 boundary, invalid UTF-8 replaced.
func AppendErrorBody(dst []byte, code uint32, msg string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, code)
	return appendErrorMessage(dst, msg)
}

// AppendError appends the body of a KindError frame with details and
// returns the header flags to send it with (FlagErrorDetails when there
// are details). Details over MaxErrorDetails are dropped and the message
// says so.
func AppendError(dst []byte, code uint32, msg string, details []byte) ([]byte, uint16) {
	if len(details) > MaxErrorDetails {
		msg = fmt.Sprintf("%s [rpc: %d bytes of error details over MaxErrorDetails %d dropped]", cutMessage(msg, MaxErrorMessage-80), len(details), MaxErrorDetails)
	} else if len(details) > 0 {
		dst = binary.LittleEndian.AppendUint32(dst, code)
		at := len(dst)
		dst = append(dst, 0, 0)
		dst = appendErrorMessage(dst, msg)
		binary.LittleEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
		return append(dst, details...), FlagErrorDetails
	}
	return AppendErrorBody(dst, code, msg), 0
}

// appendErrorMessage appends msg, valid UTF-8 and at most
// MaxErrorMessage bytes.
func appendErrorMessage(dst []byte, msg string) []byte {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	return append(dst, cutMessage(msg, MaxErrorMessage)...)
}

// cutMessage cuts msg to at most n bytes, not inside a UTF-8 sequence.
func cutMessage(msg string, n int) string {
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}

// ParseError parses a KindError (or KindGoAway) body with its header
// flags: the wire code, the message and the details, views into b. A
// short body, a message length past the body or details over
// MaxErrorDetails are ErrMalformed. The message may still be long or
// invalid UTF-8: ErrorMessage makes the string a caller sees.
func ParseError(flags uint16, b []byte) (code uint32, msg, details []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, malformed("short error body")
	}
	code = binary.LittleEndian.Uint32(b)
	b = b[4:]
	if flags&FlagErrorDetails == 0 {
		return code, b, nil, nil
	}
	if len(b) < 2 {
		return 0, nil, nil, malformed("short error message length")
	}
	n := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	if n > len(b) {
		return 0, nil, nil, malformed("error message longer than the body")
	}
	if len(b)-n > MaxErrorDetails {
		return 0, nil, nil, malformed("error details over MaxErrorDetails")
	}
	return code, b[:n], b[n:], nil
}

// ErrorMessage returns the string of a received error message: cut to
// MaxErrorMessage bytes, invalid UTF-8 replaced by U+FFFD.
func ErrorMessage(msg []byte) string {
	if len(msg) > MaxErrorMessage {
		msg = msg[:MaxErrorMessage]
	}
	if !utf8.Valid(msg) {
		// A replacement may be longer than the bytes it replaces: cut
		// again, at a rune boundary.
		return cutMessage(strings.ToValidUTF8(string(msg), "\uFFFD"), MaxErrorMessage)
	}
	return string(msg)
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
