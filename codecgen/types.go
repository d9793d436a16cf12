package codecgen

import "fmt"

// scalar describes how generated code reads and writes one scalar kind.
type scalar struct {
	goType string // Go type
	read   string // flyweight read function, e.g. "Int32At"
	put    string // RecordWriter method, e.g. "PutUint32"
	app    string // RecordWriter append method, e.g. "AppendUint32"
	conv   string // conversion applied to the value for put/app ("" for none)
}

func scalarOf(k Kind) scalar {
	switch k {
	case KBool:
		return scalar{"bool", "BoolAt", "PutBool", "AppendBool", ""}
	case KInt8:
		return scalar{"int8", "Int8At", "PutUint8", "AppendUint8", "uint8"}
	case KInt16:
		return scalar{"int16", "Int16At", "PutUint16", "AppendUint16", "uint16"}
	case KInt32:
		return scalar{"int32", "Int32At", "PutUint32", "AppendUint32", "uint32"}
	case KInt64:
		return scalar{"int64", "Int64At", "PutUint64", "AppendUint64", "uint64"}
	case KUint8:
		return scalar{"uint8", "Uint8At", "PutUint8", "AppendUint8", ""}
	case KUint16:
		return scalar{"uint16", "Uint16At", "PutUint16", "AppendUint16", ""}
	case KUint32:
		return scalar{"uint32", "Uint32At", "PutUint32", "AppendUint32", ""}
	case KUint64:
		return scalar{"uint64", "Uint64At", "PutUint64", "AppendUint64", ""}
	case KFloat32:
		return scalar{"float32", "Float32At", "PutFloat32", "AppendFloat32", ""}
	case KFloat64:
		return scalar{"float64", "Float64At", "PutFloat64", "AppendFloat64", ""}
	}
	panic(fmt.Sprintf("codecgen: not a scalar kind %d", k))
}

// goType is the Go type generated for t.
func goType(t *Type) string {
	switch t.Kind {
	case KEnum:
		return t.Enum.Name
	case KBitset:
		return t.Bitset.Name
	case KStruct:
		return t.Struct.Name
	case KArray:
		return fmt.Sprintf("[%d]%s", t.Len, goType(t.Elem))
	case KList:
		return "[]" + goType(t.Elem)
	case KString:
		return "string"
	case KBytes:
		return "[]byte"
	}
	return scalarOf(t.Kind).goType
}

// underlying is the scalar kind that encodes a scalar, enum or bit set.
func underlying(t *Type) Kind {
	switch t.Kind {
	case KEnum:
		return t.Enum.Underlying
	case KBitset:
		return t.Bitset.Underlying
	}
	return t.Kind
}

func isByte(t *Type) bool { return t.Kind == KUint8 }
