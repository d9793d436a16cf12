package mpecho

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// ErrVariant: an enum value that is not one of the type's variants (by
// name, or by index as rmp-serde also accepts), or not a variant at all.
var ErrVariant = errors.New("mpecho: unknown enum variant")

// ResponseBehavior is Rust's `enum ResponseBehavior { Unary, Stream }`:
// rmp-serde writes a unit variant as its name, a string.
type ResponseBehavior int32

// The variants, by index.
const (
	Unary  ResponseBehavior = 0
	Stream ResponseBehavior = 1
)

var behaviorNames = [...]string{"Unary", "Stream"}

func (z ResponseBehavior) String() string {
	if z >= 0 && int(z) < len(behaviorNames) {
		return behaviorNames[z]
	}
	return fmt.Sprintf("ResponseBehavior(%d)", int32(z))
}

// MarshalMsg implements msgp.Marshaler: the variant's name.
func (z ResponseBehavior) MarshalMsg(b []byte) ([]byte, error) {
	if z < 0 || int(z) >= len(behaviorNames) {
		return b, fmt.Errorf("%w: ResponseBehavior %d", ErrVariant, int32(z))
	}
	return msgp.AppendString(b, behaviorNames[z]), nil
}

// UnmarshalMsg implements msgp.Unmarshaler: a name or an index.
func (z *ResponseBehavior) UnmarshalMsg(b []byte) ([]byte, error) {
	idx, rest, err := readVariant(b, behaviorNames[:])
	if err != nil {
		return b, err
	}
	*z = ResponseBehavior(idx)
	return rest, nil
}

// EncodeMsg implements msgp.Encodable.
func (z ResponseBehavior) EncodeMsg(w *msgp.Writer) error {
	b, err := z.MarshalMsg(nil)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// DecodeMsg implements msgp.Decodable.
func (z *ResponseBehavior) DecodeMsg(r *msgp.Reader) error {
	var raw msgp.Raw
	if err := raw.DecodeMsg(r); err != nil {
		return err
	}
	_, err := z.UnmarshalMsg(raw)
	return err
}

// Msgsize implements msgp.Sizer (an upper bound).
func (z ResponseBehavior) Msgsize() int { return msgp.StringPrefixSize + len("Stream") }

// readVariant reads a variant identifier: a string naming one of names,
// or an unsigned index below len(names).
func readVariant(b []byte, names []string) (int, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.StrType:
		s, rest, err := msgp.ReadStringZC(b)
		if err != nil {
			return 0, b, err
		}
		for i, n := range names {
			if string(s) == n {
				return i, rest, nil
			}
		}
		return 0, b, fmt.Errorf("%w: %q", ErrVariant, s)
	case msgp.UintType, msgp.IntType:
		i, rest, err := msgp.ReadUint32Bytes(b)
		if err != nil {
			return 0, b, err
		}
		if int(i) >= len(names) {
			return 0, b, fmt.Errorf("%w: index %d", ErrVariant, i)
		}
		return int(i), rest, nil
	}
	return 0, b, fmt.Errorf("%w: a %s where a variant was expected", ErrVariant, msgp.NextType(b))
}

// EchoResponseKind is Rust's `Option<EchoResponseKind>` with the variants
// Echo(EchoResponse) and Stream(EchoStream): rmp-serde writes None as nil
// and a newtype variant as a one-entry map from the variant's name to its
// value. At most one of the fields is set; neither is None.
type EchoResponseKind struct {
	Echo   *EchoResponse
	Stream *EchoStream
}

var kindNames = [...]string{"Echo", "Stream"}

// MarshalMsg implements msgp.Marshaler.
func (z *EchoResponseKind) MarshalMsg(b []byte) ([]byte, error) {
	switch {
	case z.Echo != nil && z.Stream != nil:
		return b, fmt.Errorf("%w: EchoResponseKind with both Echo and Stream", ErrVariant)
	case z.Echo != nil:
		b = msgp.AppendMapHeader(b, 1)
		b = msgp.AppendString(b, kindNames[0])
		return z.Echo.MarshalMsg(b)
	case z.Stream != nil:
		b = msgp.AppendMapHeader(b, 1)
		b = msgp.AppendString(b, kindNames[1])
		return z.Stream.MarshalMsg(b)
	}
	return msgp.AppendNil(b), nil
}

// UnmarshalMsg implements msgp.Unmarshaler (an existing Echo or Stream
// value is reused).
func (z *EchoResponseKind) UnmarshalMsg(b []byte) ([]byte, error) {
	if msgp.IsNil(b) {
		z.Echo, z.Stream = nil, nil
		return msgp.ReadNilBytes(b)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return b, err
	}
	if n != 1 {
		return b, fmt.Errorf("%w: a map of %d entries where one variant was expected", ErrVariant, n)
	}
	idx, rest, err := readVariant(rest, kindNames[:])
	if err != nil {
		return b, err
	}
	if idx == 0 {
		z.Stream = nil
		if z.Echo == nil {
			z.Echo = new(EchoResponse)
		}
		return z.Echo.UnmarshalMsg(rest)
	}
	z.Echo = nil
	if z.Stream == nil {
		z.Stream = new(EchoStream)
	}
	return z.Stream.UnmarshalMsg(rest)
}

// EncodeMsg implements msgp.Encodable.
func (z *EchoResponseKind) EncodeMsg(w *msgp.Writer) error {
	b, err := z.MarshalMsg(nil)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// DecodeMsg implements msgp.Decodable.
func (z *EchoResponseKind) DecodeMsg(r *msgp.Reader) error {
	var raw msgp.Raw
	if err := raw.DecodeMsg(r); err != nil {
		return err
	}
	_, err := z.UnmarshalMsg(raw)
	return err
}

// Msgsize implements msgp.Sizer (an upper bound).
func (z *EchoResponseKind) Msgsize() int {
	s := msgp.MapHeaderSize + msgp.StringPrefixSize + len("Stream")
	if z.Echo != nil {
		s += z.Echo.Msgsize()
	}
	if z.Stream != nil {
		s += z.Stream.Msgsize()
	}
	return s
}

// ID, SetID, Control and SetControl give codec/msgpack's Compat the
// request id and code of a Request or Response.
func (z *Request) ID() uint64           { return z.RequestID }
func (z *Request) SetID(id uint64)      { z.RequestID = id }
func (z *Request) Control() uint32      { return z.Code }
func (z *Request) SetControl(c uint32)  { z.Code = c }
func (z *Response) ID() uint64          { return z.RequestID }
func (z *Response) SetID(id uint64)     { z.RequestID = id }
func (z *Response) Control() uint32     { return z.Code }
func (z *Response) SetControl(c uint32) { z.Code = c }
