package protobuf

import (
	"context"
	"encoding/binary"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/varint"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// DefaultMaxSize is the maximum body size SplitDelimited and Reader use
// when given 0: frame.DefaultMaxFrameSize, the socket's default.
const DefaultMaxSize = frame.DefaultMaxFrameSize

// Framing is the socket framing that matches this codec: a uvarint length
// then the body. Set socket.Options.Framing to it (compat mode does by
// default).
var Framing = frame.Varint

// marshal is deterministic so that equal messages encode to equal bytes
// (map fields in key order), as the other runtimes' tests expect.
var marshal = proto.MarshalOptions{Deterministic: true}

// unmarshal replaces, never merges (the message is reset first).
var unmarshal = proto.UnmarshalOptions{Merge: false}

// size is m's encoded size.
func size(m proto.Message) int {
	if planFor(m).ok {
		return m.(vtMarshaler).SizeVT()
	}
	return marshal.Size(m)
}

// Append appends the encoding of m (its body, without a length) to dst and
// returns the extended slice. On error dst is returned unchanged. A flat
// proto3 message with vtprotobuf methods (protoc-gen-go-vtproto's marshal,
// unmarshal and size features) is encoded by them, with the same bytes and
// the same errors (its strings are checked for UTF-8 here).
func Append(dst []byte, m proto.Message) ([]byte, error) {
	return appendPlan(dst, m, planFor(m))
}

func appendPlan(dst []byte, m proto.Message, p *vtPlan) ([]byte, error) {
	if p.ok {
		vt := m.(vtMarshaler)
		if err := p.checkStrings(m); err != nil {
			return dst, newError(ErrEncode, typeName(m), err, "")
		}
		n := vt.SizeVT()
		out := slices.Grow(dst, n)[:len(dst)+n]
		if _, err := vt.MarshalToSizedBufferVT(out[len(dst):]); err != nil {
			return dst, newError(ErrEncode, typeName(m), err, "")
		}
		return out, nil
	}
	out, err := marshal.MarshalAppend(dst, m)
	if err != nil {
		return dst, newError(ErrEncode, typeName(m), err, "")
	}
	return out, nil
}

// AppendDelimited appends m's length as a uvarint and then its body to dst,
// byte for byte what protobuf's writeDelimitedTo writes. On error dst is
// returned unchanged.
func AppendDelimited(dst []byte, m proto.Message) ([]byte, error) {
	n := size(m)
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(n))
	out, err := Append(dst, m)
	if err != nil {
		return dst[:start], err
	}
	if len(out)-len(dst) != n { // a message mutated concurrently: never write a wrong prefix
		return dst[:start], newError(ErrEncode, typeName(m), nil, "size changed during encoding")
	}
	return out, nil
}

// MarshalBuffer encodes m's body into a pooled buffer. The caller owns the
// buffer: pass it to socket.Sender.SendBuffer or return it with
// pool.PutBuffer.
func MarshalBuffer(m proto.Message) (*pool.Buffer, error) {
	buf := pool.GetBuffer()
	b, err := Append(buf.B[:0], m)
	if err != nil {
		pool.PutBuffer(buf)
		return nil, err
	}
	buf.B = b
	return buf, nil
}

// Send encodes m into a pooled buffer and queues it on s with a zero
// header (framings such as Framing carry no header). The buffer belongs to
// the connection from then on.
func Send(ctx context.Context, s *socket.Sender, m proto.Message) error {
	buf, err := MarshalBuffer(m)
	if err != nil {
		return err
	}
	return s.SendBuffer(ctx, frame.Header{}, buf)
}

// Encoder is a socket.Encoder that appends Msg's body straight into the
// connection's write buffer (socket.Sender.SendEncoder). Msg must not
// change until the message is written or reported failed.
type Encoder struct {
	Msg proto.Message
}

// AppendPayload implements socket.Encoder.
func (e *Encoder) AppendPayload(dst []byte) ([]byte, error) { return Append(dst, e.Msg) }

// Unmarshal resets m and decodes b into it (proto.UnmarshalOptions with
// Merge false), so one message can be reused for every read. m does not
// keep b: bytes and string fields are copied. A bad body is an *Error
// matching ErrDecode. A flat proto3 message with vtprotobuf methods (see
// Append) is decoded by UnmarshalVT, its strings checked for UTF-8 here;
// one difference remains: a known field with the wrong wire type is an
// error there, where protobuf-go keeps it as an unknown field.
func Unmarshal(b []byte, m proto.Message) error {
	return unmarshalPlan(b, m, planFor(m))
}

func unmarshalPlan(b []byte, m proto.Message, p *vtPlan) error {
	proto.Reset(m)
	if p.ok {
		err := m.(vtUnmarshaler).UnmarshalVT(b)
		if err == nil {
			err = p.checkStrings(m)
		}
		if err != nil {
			return newError(ErrDecode, typeName(m), err, "%d-byte body", len(b))
		}
		return nil
	}
	if err := unmarshal.Unmarshal(b, m); err != nil {
		return newError(ErrDecode, typeName(m), err, "%d-byte body", len(b))
	}
	return nil
}

// SplitDelimited finds the delimited message at the start of b. It returns
// the body (a sub-slice of b, valid as long as b is) and n, the bytes the
// whole message takes. n == 0 with a nil error means more bytes are
// needed. A length over maxSize (0 means DefaultMaxSize) is ErrTooLarge as
// soon as the prefix bytes show it; a prefix of more than 10 bytes, or
// overflowing 64 bits, is ErrMalformedVarint.
func SplitDelimited(b []byte, maxSize int) (body []byte, n int, err error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	v, n, r := varint.ParseLength(b, uint64(maxSize))
	switch r {
	case varint.NeedMore:
		return nil, 0, nil
	case varint.TooLarge:
		return nil, 0, newError(ErrTooLarge, "", nil, "length %d or more exceeds maximum %d", v, maxSize)
	case varint.Overflow:
		return nil, 0, newError(ErrMalformedVarint, "", nil, "overflows 64 bits")
	}
	end := n + int(v)
	if len(b) < end {
		return nil, 0, nil
	}
	return b[n:end], end, nil
}

func typeName(m proto.Message) (name protoreflect.FullName) {
	if m == nil {
		return ""
	}
	return m.ProtoReflect().Descriptor().FullName()
}
