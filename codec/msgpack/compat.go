package msgpack

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// Message is a message type Compat carries: msgp's append-style encoding
// and decoding (generated with `//msgp:tuple`), and access to the request
// id and control code, which must be the first two fields (array elements
// 0 and 1, as in protosocket's example-messagepack).
type Message interface {
	msgp.Marshaler
	msgp.Unmarshaler
	ID() uint64
	SetID(id uint64)
	Control() uint32
	SetControl(code uint32)
}

// Compat is a compat.Codec and compat.Peeker for the message type M (P is
// *M). Its zero value is ready; it is safe for concurrent use. Pass
// Options{Socket: socket.Options{Framing: msgpack.Framing}} to compat.
type Compat[M any, P interface {
	*M
	Message
}] struct{}

// Append implements compat.Codec.
func (Compat[M, P]) Append(dst []byte, m *M) ([]byte, error) {
	out, err := P(m).MarshalMsg(dst)
	if err != nil {
		return dst, newError(ErrEncode, err, "%T", m)
	}
	return out, nil
}

// Parse implements compat.Codec: it decodes b into m (every field is
// written: the encoding is a whole tuple). Bytes after the message are
// ErrTrailing.
func (Compat[M, P]) Parse(b []byte, m *M) error {
	rest, err := P(m).UnmarshalMsg(b)
	if err != nil {
		return decodeError(err, fmt.Sprintf("%T", m))
	}
	if len(rest) != 0 {
		return newError(ErrTrailing, nil, "%d bytes after %T", len(rest), m)
	}
	return nil
}

// ID implements compat.Codec.
func (Compat[M, P]) ID(m *M) uint64 { return P(m).ID() }

// SetID implements compat.Codec.
func (Compat[M, P]) SetID(m *M, id uint64) { P(m).SetID(id) }

// Control implements compat.Codec.
func (Compat[M, P]) Control(m *M) compat.Control { return compat.Control(P(m).Control()) }

// SetControl implements compat.Codec.
func (Compat[M, P]) SetControl(m *M, c compat.Control) { P(m).SetControl(uint32(c)) }

// Peek implements compat.Peeker: the id and code are the first two
// elements of the message's array; the rest is not decoded. A body that
// is not an array of at least two elements starting with two unsigned
// integers (the code at most 32 bits, as Rust's u32) is an *Error.
func (Compat[M, P]) Peek(b []byte) (uint64, compat.Control, error) {
	return Peek(b)
}

// Peek reads the id and code of an encoded message (see Compat.Peek).
func Peek(b []byte) (uint64, compat.Control, error) {
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return 0, 0, newError(ErrDecode, err, "message is not an array")
	}
	if n < 2 {
		return 0, 0, newError(ErrArity, nil, "array of %d elements has no id and code", n)
	}
	id, rest, err := msgp.ReadUint64Bytes(rest)
	if err != nil {
		return 0, 0, newError(ErrDecode, err, "request id")
	}
	code, _, err := msgp.ReadUint32Bytes(rest)
	if err != nil {
		return 0, 0, newError(ErrDecode, err, "control code")
	}
	return id, compat.Control(code), nil
}
