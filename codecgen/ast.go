package codecgen

import "fmt"

// Pos is a position in a schema file.
type Pos struct {
	File string
	Line int // 1-based
	Col  int // 1-based, in bytes
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Schema is a parsed and checked schema file.
type Schema struct {
	Path     string
	Doc      string // comment before the package clause
	Package  string
	PkgPos   Pos
	ID       uint32 // schema id
	Version  int    // current schema version (>= 1)
	Enums    []*Enum
	Bitsets  []*Bitset
	Structs  []*Struct
	Messages []*Record
	Services []*Service
}

// Enum is a named integer type with named values.
type Enum struct {
	Pos        Pos
	Name, Doc  string
	Underlying Kind
	Values     []*Const
	Char       bool // declared ": char" (uint8 values written as 'A')
}

// Bitset is a named unsigned integer type whose named values are bit
// positions.
type Bitset struct {
	Pos        Pos
	Name, Doc  string
	Underlying Kind
	Bits       []*Const
}

// Const is an enum value or a bit of a bit set.
type Const struct {
	Pos       Pos
	Name, Doc string
	Value     int64
}

// Struct is a fixed-size struct used inline in fixed blocks.
type Struct struct {
	Pos       Pos
	Name, Doc string
	Fields    []*Field
	Size      int // computed
}

// Record is a message or a repeated group's element type.
type Record struct {
	Pos       Pos
	Name, Doc string // Name is the Go type name ("Person", "PersonKids")
	Label     string // name used in errors and dumps ("Person", "Person.kids")
	TypeID    uint32 // messages only
	IsMessage bool
	Fields    []*Field
	Consts    []*Field // constant fields (no wire space), split from Fields by the checker
	FixedLen  int      // computed
	Slots     int      // computed
	Depth     int      // 0 for messages
}

// Field is a field of a record or struct.
type Field struct {
	Pos        Pos
	Name, Doc  string
	GoName     string
	ID         int
	Type       *Type
	Optional   bool
	Since      int  // version the field appeared in (default 1, or its group's)
	SinceSet   bool // since was written explicitly
	Default    *Literal
	Deprecated bool     // "deprecated": still on the wire, marked Deprecated in Go
	Const      *Literal // "const V": a constant, no wire space (moved to Record.Consts)
	Range      *Range   // "range MIN..MAX": checked by Validate
	Group      *Record  // for group fields
	ElemName   string   // group fields: "type NAME", the element type's Go name
	ElemPos    Pos
	Offset     int // fixed fields: byte offset in the fixed block
	Slot       int // variable fields: slot index
}

// Range is the inclusive range of values Validate accepts for a numeric
// field ("range 90..110").
type Range struct {
	Pos      Pos
	Min, Max *Literal
}

// Literal is a default value as written.
type Literal struct {
	Pos  Pos
	Text string // Go source of the value
}

// Kind classifies a type.
type Kind int

// Kinds of types.
const (
	KInvalid Kind = iota
	KBool
	KInt8
	KInt16
	KInt32
	KInt64
	KUint8
	KUint16
	KUint32
	KUint64
	KFloat32
	KFloat64
	KString
	KBytes
	KList   // []scalar
	KArray  // [N]fixed
	KEnum   // named enum
	KBitset // named bit set
	KStruct // named struct
	KGroup  // repeated group
	KNamed  // unresolved name (parser only)
)

// Type is a field type.
type Type struct {
	Pos    Pos
	Kind   Kind
	Name   string // for named types as written
	Len    int    // arrays
	Elem   *Type  // arrays and lists
	Enum   *Enum
	Bitset *Bitset
	Struct *Struct
	Char   bool // written as char ([N]char is a fixed-length string)
}

var scalarNames = map[string]Kind{
	"bool": KBool, "int8": KInt8, "int16": KInt16, "int32": KInt32, "int64": KInt64,
	"uint8": KUint8, "uint16": KUint16, "uint32": KUint32, "uint64": KUint64,
	"float32": KFloat32, "float64": KFloat64, "byte": KUint8,
}

// IsScalar reports whether k is bool, an integer or a float.
func (k Kind) IsScalar() bool { return k >= KBool && k <= KFloat64 }

// IsFixed reports whether t lives in the fixed block.
func (t *Type) IsFixed() bool {
	switch t.Kind {
	case KString, KBytes, KList, KGroup:
		return false
	}
	return true
}

// Size is the encoded size of a fixed type.
func (t *Type) Size() int {
	switch t.Kind {
	case KEnum:
		return scalarSize(t.Enum.Underlying)
	case KBitset:
		return scalarSize(t.Bitset.Underlying)
	case KStruct:
		return t.Struct.Size
	case KArray:
		return t.Len * t.Elem.Size()
	}
	return scalarSize(t.Kind)
}

func scalarSize(k Kind) int {
	switch k {
	case KBool, KInt8, KUint8:
		return 1
	case KInt16, KUint16:
		return 2
	case KInt32, KUint32, KFloat32:
		return 4
	case KInt64, KUint64, KFloat64:
		return 8
	}
	return 0
}

// String returns the type as written in a schema.
func (t *Type) String() string {
	switch t.Kind {
	case KEnum, KBitset, KStruct, KNamed:
		return t.Name
	case KArray:
		return fmt.Sprintf("[%d]%s", t.Len, t.Elem)
	case KList:
		return "[]" + t.Elem.String()
	case KString:
		return "string"
	case KBytes:
		return "bytes"
	case KGroup:
		return "group"
	}
	for n, k := range scalarNames {
		if k == t.Kind && n != "byte" {
			return n
		}
	}
	return "invalid"
}

// Service is a service declaration: named RPC methods, each taking a
// request message and answering with a response message.
type Service struct {
	Pos       Pos
	Name, Doc string
	Methods   []*Method
}

// MethodKind is the shape of a method's call.
type MethodKind int

// Method kinds.
const (
	Unary        MethodKind = iota // one request, one response
	ServerStream                   // one request, a stream of responses
	ClientStream                   // a stream of requests, one response
	Bidi                           // streams both ways
	Oneway                         // one request, no response (fire-and-forget)
)

// String returns the kind as the schema spells it.
func (k MethodKind) String() string {
	switch k {
	case Unary:
		return "unary"
	case ServerStream:
		return "server stream"
	case ClientStream:
		return "client stream"
	case Bidi:
		return "bidi stream"
	case Oneway:
		return "oneway"
	}
	return "invalid"
}

// Method is one RPC of a service.
type Method struct {
	Pos       Pos
	Name, Doc string
	Kind      MethodKind
	ID        uint32 // explicit ("= N") or derived (MethodID)
	IDSet     bool   // written explicitly
	IDPos     Pos
	ReqName   string
	ReqPos    Pos
	RespName  string // "" for oneway
	RespPos   Pos
	Request   *Record // resolved by the checker
	Response  *Record // nil for oneway
}

// FullName is the method's name as its derived id hashes it:
// "/package.Service/Method".
func (m *Method) FullName(s *Schema, sv *Service) string {
	return "/" + s.Package + "." + sv.Name + "/" + m.Name
}
