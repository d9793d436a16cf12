package protobuf

import (
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
	return &Compat[M, P]{id: id, code: code}, nil
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

// Append implements compat.Codec: it appends m's body to dst.
func (c *Compat[M, P]) Append(dst []byte, m *M) ([]byte, error) { return Append(dst, P(m)) }

// Parse implements compat.Codec: it resets m and decodes b into it.
func (c *Compat[M, P]) Parse(b []byte, m *M) error { return Unmarshal(b, P(m)) }

// ID implements compat.Codec.
func (c *Compat[M, P]) ID(m *M) uint64 { return getUint(P(m).ProtoReflect(), c.id) }

// SetID implements compat.Codec.
func (c *Compat[M, P]) SetID(m *M, id uint64) { setUint(P(m).ProtoReflect(), c.id, id) }

// Control implements compat.Codec.
func (c *Compat[M, P]) Control(m *M) compat.Control {
	return compat.Control(getUint(P(m).ProtoReflect(), c.code))
}

// SetControl implements compat.Codec.
func (c *Compat[M, P]) SetControl(m *M, code compat.Control) {
	setUint(P(m).ProtoReflect(), c.code, uint64(code))
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
