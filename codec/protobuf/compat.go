package protobuf

import (
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// Default field numbers of the request id and the control code, as in the
// Rust protosocket-rpc examples.
const (
	DefaultIDField      protoreflect.FieldNumber = 1
	DefaultControlField protoreflect.FieldNumber = 2
)

// Compat is a compat.Codec for the generated message type M (P is *M): it
// encodes and decodes with this package's Append and Unmarshal and reaches
// the id and control code through protobuf reflection. Build one with
// NewCompat; it is safe for concurrent use.
type Compat[M any, P interface {
	*M
	proto.Message
}] struct {
	id, code protoreflect.FieldDescriptor
	// The Go struct fields of id and code in a generated message (index
	// path, nil when not a plain integer field): Go reflection reads and
	// writes them without the allocations protoreflect's Set makes.
	idGo, codeGo []int
	plan         *vtPlan // M's vtprotobuf plan, looked up once
}

// NewCompat returns a Compat whose id is field idField (a 64- or 32-bit
// unsigned or signed integer, not repeated) and whose control code is field
// controlField (an integer or an enum, not repeated). 0 means the defaults
// 1 and 2. A missing or unusable field is an *Error matching ErrField.
func NewCompat[M any, P interface {
	*M
	proto.Message
}](idField, controlField protoreflect.FieldNumber) (*Compat[M, P], error) {
	if idField == 0 {
		idField = DefaultIDField
	}
	if controlField == 0 {
		controlField = DefaultControlField
	}
	md := P(new(M)).ProtoReflect().Descriptor()
	id, err := field(md, idField, false)
	if err != nil {
		return nil, err
	}
	code, err := field(md, controlField, true)
	if err != nil {
		return nil, err
	}
	rt := reflect.TypeFor[M]()
	return &Compat[M, P]{id: id, code: code, idGo: goField(rt, idField), codeGo: goField(rt, controlField),
		plan: planFor(P(new(M)))}, nil
}

// goField finds the integer field of a generated struct with protobuf
// number num; nil if there is none (then protoreflect is used).
func goField(rt reflect.Type, num protoreflect.FieldNumber) []int {
	if rt.Kind() != reflect.Struct {
		return nil
	}
	return goFieldOfKind(rt, num, reflect.Uint64, reflect.Uint32, reflect.Int64, reflect.Int32)
}

func field(md protoreflect.MessageDescriptor, num protoreflect.FieldNumber, enumOK bool) (protoreflect.FieldDescriptor, error) {
	fd := md.Fields().ByNumber(num)
	if fd == nil {
		return nil, newError(ErrField, md.FullName(), nil, "no field number %d", num)
	}
	if fd.Cardinality() == protoreflect.Repeated {
		return nil, newError(ErrField, md.FullName(), nil, "field %s is repeated", fd.Name())
	}
	switch fd.Kind() {
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sfixed64Kind, protoreflect.Sint64Kind,
		protoreflect.Int32Kind, protoreflect.Sfixed32Kind, protoreflect.Sint32Kind:
		return fd, nil
	case protoreflect.EnumKind:
		if enumOK {
			return fd, nil
		}
	}
	return nil, newError(ErrField, md.FullName(), nil, "field %s has kind %s", fd.Name(), fd.Kind())
}

// Peek implements compat.Peeker: it reads the id and control fields of
// an encoded message without decoding the rest (a field seen twice: the
// last wins; a field with the wrong wire type is skipped, as protobuf-go
// keeps it as unknown), with the values ID and Control would give after a
// Parse. Bytes that are not a sequence of protobuf fields are an *Error
// matching ErrDecode.
func (c *Compat[M, P]) Peek(b []byte) (id uint64, code compat.Control, err error) {
	idNum, codeNum := c.id.Number(), c.code.Number()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, c.peekErr(n)
		}
		b = b[n:]
		if num == idNum || num == codeNum {
			fd := c.id
			if num == codeNum {
				fd = c.code
			}
			if v, n, ok := wireValue(fd.Kind(), typ, b); ok {
				if n < 0 {
					return 0, 0, c.peekErr(n)
				}
				b = b[n:]
				if num == idNum {
					id = v
				} else {
					code = compat.Control(v)
				}
				continue
			}
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, 0, c.peekErr(n)
		}
		b = b[n:]
	}
	return id, code, nil
}

func (c *Compat[M, P]) peekErr(n int) error {
	return newError(ErrDecode, c.id.ContainingMessage().FullName(), protowire.ParseError(n), "reading the id and control fields")
}

// wireValue decodes the value of a field of kind k that arrived with wire
// type typ, as getUint would return it after a Parse; ok is false when the
// wire type is not the kind's (protobuf-go then keeps the field as
// unknown).
func wireValue(k protoreflect.Kind, typ protowire.Type, b []byte) (v uint64, n int, ok bool) {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		if typ != protowire.Fixed32Type {
			return 0, 0, false
		}
		x, n := protowire.ConsumeFixed32(b)
		if k == protoreflect.Sfixed32Kind {
			return uint64(int64(int32(x))), n, true
		}
		return uint64(x), n, true
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		if typ != protowire.Fixed64Type {
			return 0, 0, false
		}
		x, n := protowire.ConsumeFixed64(b)
		return x, n, true
	}
	if typ != protowire.VarintType {
		return 0, 0, false
	}
	x, n := protowire.ConsumeVarint(b)
	switch k {
	case protoreflect.Uint32Kind:
		x = uint64(uint32(x))
	case protoreflect.Int32Kind:
		x = uint64(int64(int32(x)))
	case protoreflect.EnumKind:
		x = uint64(uint32(int32(x)))
	case protoreflect.Sint32Kind:
		x = uint64(int64(int32(protowire.DecodeZigZag(x & 0xffffffff))))
	case protoreflect.Sint64Kind:
		x = uint64(protowire.DecodeZigZag(x))
	}
	return x, n, true
}

// Append implements compat.Codec: it appends m's body to dst.
func (c *Compat[M, P]) Append(dst []byte, m *M) ([]byte, error) { return appendPlan(dst, P(m), c.plan) }

// Parse implements compat.Codec: it resets m and decodes b into it.
func (c *Compat[M, P]) Parse(b []byte, m *M) error { return unmarshalPlan(b, P(m), c.plan) }

// ID implements compat.Codec.
func (c *Compat[M, P]) ID(m *M) uint64 {
	if c.idGo != nil {
		return getGo(m, c.idGo, c.id.Kind())
	}
	return getUint(P(m).ProtoReflect(), c.id)
}

// SetID implements compat.Codec.
func (c *Compat[M, P]) SetID(m *M, id uint64) {
	if c.idGo != nil {
		setGo(m, c.idGo, id)
		return
	}
	setUint(P(m).ProtoReflect(), c.id, id)
}

// Control implements compat.Codec.
func (c *Compat[M, P]) Control(m *M) compat.Control {
	if c.codeGo != nil {
		return compat.Control(getGo(m, c.codeGo, c.code.Kind()))
	}
	return compat.Control(getUint(P(m).ProtoReflect(), c.code))
}

// SetControl implements compat.Codec.
func (c *Compat[M, P]) SetControl(m *M, code compat.Control) {
	if c.codeGo != nil {
		setGo(m, c.codeGo, uint64(code))
		return
	}
	setUint(P(m).ProtoReflect(), c.code, uint64(code))
}

// getGo reads the integer field at index of *m as getUint would.
func getGo[M any](m *M, index []int, k protoreflect.Kind) uint64 {
	v := reflect.ValueOf(m).Elem().FieldByIndex(index)
	if v.CanUint() {
		return v.Uint()
	}
	if k == protoreflect.EnumKind {
		return uint64(uint32(v.Int()))
	}
	return uint64(v.Int())
}

// setGo writes x to the integer field at index of *m as setUint would.
func setGo[M any](m *M, index []int, x uint64) {
	v := reflect.ValueOf(m).Elem().FieldByIndex(index)
	switch v.Kind() {
	case reflect.Uint64, reflect.Uint32:
		v.SetUint(x) // truncated to the field's width, as setUint does
	case reflect.Int32:
		v.SetInt(int64(int32(x)))
	default:
		v.SetInt(int64(x))
	}
}

func getUint(m protoreflect.Message, fd protoreflect.FieldDescriptor) uint64 {
	v := m.Get(fd)
	switch fd.Kind() {
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return v.Uint()
	case protoreflect.EnumKind:
		return uint64(uint32(v.Enum()))
	default:
		return uint64(v.Int())
	}
}

func setUint(m protoreflect.Message, fd protoreflect.FieldDescriptor, x uint64) {
	var v protoreflect.Value
	switch fd.Kind() {
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		v = protoreflect.ValueOfUint64(x)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		v = protoreflect.ValueOfUint32(uint32(x))
	case protoreflect.EnumKind:
		v = protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(x)))
	case protoreflect.Int32Kind, protoreflect.Sfixed32Kind, protoreflect.Sint32Kind:
		v = protoreflect.ValueOfInt32(int32(x))
	default:
		v = protoreflect.ValueOfInt64(int64(x))
	}
	m.Set(fd, v)
}
