package codecgen

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const header = "package p;\nschema 1 version 2;\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // file:line:col: message (substring)
	}{
		{"unknown type", header + "message M = 1 {\n  a strng = 1;\n}\n", `s.schema:4:5: unknown type "strng" (did you mean string?)`},
		{"duplicate field", header + "message M = 1 {\n  a int32 = 1;\n  a int64 = 2;\n}\n", `s.schema:5:3: duplicate field name "a"`},
		{"duplicate field id", header + "message M = 1 {\n  a int32 = 1;\n  b int64 = 1;\n}\n", `s.schema:5:3: M: field id 1 already used by a`},
		{"duplicate message id", header + "message M = 1 {\n}\nmessage N = 1 {\n}\n", `s.schema:5:9: message type id 1 already used by M`},
		{"added without a version", header + "message M = 1 {\n  a int32 = 1;\n  b int32 = 2 since 2;\n  c int32 = 3;\n}\n", `s.schema:6:3: field c is declared after b (since 2) and so was added later: mark it "since 2" or higher`},
		{"since too new", header + "message M = 1 {\n  a int32 = 1 since 3;\n}\n", `s.schema:4:3: field a: since 3 is newer than the schema version 2`},
		{"go keyword field", header + "message M = 1 {\n  type int32 = 1;\n}\n", `s.schema:4:3: field name "type" is a Go keyword`},
		{"go keyword package", "package func;\nschema 1 version 1;\n", `s.schema:1:9: package name "func" is a Go keyword`},
		{"lower-case type", header + "message m = 1 {\n}\n", `s.schema:3:9: message name "m" must start with an upper-case letter`},
		{"syntax", header + "message M = 1 {\n  a int32 1;\n}\n", `s.schema:4:11: expected "=", found "1"`},
		{"eof", header + "message M = 1 {\n  a int32 = 1;\n", `s.schema:5:1: expected a field or "}", found end of file`},
		{"bad char", header + "message M = 1 { @ }\n", `s.schema:3:17: unexpected character '@'`},
		{"enum value range", header + "enum E : uint8 {\n  a = 300;\n}\n", `s.schema:4:3: enum E: value 300 does not fit uint8`},
		{"bitset signed", header + "bitset B : int8 {\n  a = 0;\n}\n", `s.schema:3:12: bitset B: underlying type must be an unsigned integer type`},
		{"bad default", header + "message M = 1 {\n  a uint8 = 1 default 256;\n}\n", `s.schema:4:23: field a: default 256 is not a valid uint8`},
		{"list of strings", header + "message M = 1 {\n  a []string = 1;\n}\n", `s.schema:4:7: list element must be a scalar`},
		{"struct with string", header + "struct S {\n  a string;\n}\n", `s.schema:4:5: struct S: field a: string is not a fixed-size type`},
		{"struct cycle", header + "struct S {\n  a S;\n}\n", `s.schema:3:8: struct S contains itself`},
		{"method collision", header + "message M = 1 {\n  name string = 1;\n  name_view int32 = 2;\n}\n", `s.schema:5:3: field name_view generates method NameView, which field name also generates`},
		{"message named like a builder function", header + "message Car = 1 {\n}\nmessage BuildCar = 2 {\n}\n", `s.schema:5:9: message BuildCar generates the Go name BuildCar, which message Car (s.schema:3:9) also generates: rename one of them`},
		{"builder function named like an enum value", header + "enum Build : uint8 {\n  car = 1;\n}\nmessage Car = 1 {\n}\n", `s.schema:6:9: message Car generates the Go name BuildCar, which value car of Build (s.schema:4:3) also generates`},
		{"fixed block over 32767 bytes", header + "message M = 1 {\n  a [4096]uint64 = 1;\n}\n", `s.schema:3:9: M: fixed block is 32768 bytes, more than 32767 (bit 15 of the record header's fixed length is reserved for compact records)`},
		{"enum values named like the schema constants", header + "enum Schema : uint8 {\n  id = 1;\n  version = 2;\n}\n", `s.schema:4:3: value id of Schema generates the Go name SchemaID, which the schema header (s.schema:1:9) also generates`},
		{"enum values named like the schema constants (2)", header + "enum Schema : uint8 {\n  id = 1;\n  version = 2;\n}\n", `s.schema:5:3: value version of Schema generates the Go name SchemaVersion`},
		{"group named like a message", header + "message Car = 1 {\n  group parts = 1 {\n  }\n}\nmessage CarParts = 2 {\n}\n", `s.schema:7:9: message CarParts generates the Go name CarParts, which group Car.parts (s.schema:4:9) also generates`},
		{"value type collides", header + "message Car = 1 {\n}\nmessage CarValue = 2 {\n}\n", `message CarValue generates the Go name CarValue, which message Car (s.schema:3:9) also generates`},
		{"range on a string", header + "message M = 1 {\n  a string = 1 range 1..2;\n}\n", `s.schema:4:16: field a: a range applies to integer and float fields, not string`},
		{"range bound out of type", header + "message M = 1 {\n  a uint8 = 1 range 1..300;\n}\n", `s.schema:4:24: field a: range bound 300 is not a valid uint8`},
		{"empty range", header + "message M = 1 {\n  a int32 = 1 range 10..2;\n}\n", `s.schema:4:15: field a: empty range 10..2 (MIN > MAX)`},
		{"default outside range", header + "message M = 1 {\n  a int32 = 1 range 1..5 default 9;\n}\n", `s.schema:4:34: field a: default 9 is outside its range 1..5`},
		{"range without dots", header + "message M = 1 {\n  a int32 = 1 range 1 5;\n}\n", `s.schema:4:23: field a: expected ".." in range MIN..MAX, found "5"`},
		{"unknown attribute", header + "message M = 1 {\n  a int32 = 1 deprecatd;\n}\n", `s.schema:4:15: field a: unknown attribute "deprecatd" (want optional, since, default, range, deprecated, const, or type for a group)`},
		{"duplicate deprecated", header + "message M = 1 {\n  a int32 = 1 deprecated deprecated;\n}\n", `s.schema:4:26: field a: duplicate "deprecated"`},
		{"non-ASCII name", header + "message M = 1 {\n  café int32 = 1;\n}\n", `s.schema:4:6: unexpected character 'é': names must be ASCII`},
		{"const of a list", header + "message M = 1 {\n  a []int32 = 1 const 3;\n}\n", `s.schema:4:23: field a: constants are scalars, enums or strings, not []int32`},
		{"const not a string", header + "message M = 1 {\n  a string = 1 const 3;\n}\n", `s.schema:4:22: field a: constant 3 is not a string literal`},
		{"const bad value", header + "message M = 1 {\n  a uint8 = 1 const 256;\n}\n", `s.schema:4:21: field a: constant 256 is not a valid uint8`},
		{"const optional", header + "message M = 1 {\n  a uint8 = 1 optional const 2;\n}\n", `s.schema:4:30: field a: a constant cannot be optional or have a default or range`},
		{"const enum value", header + "enum E : uint8 {\n  x = 1;\n}\nmessage M = 1 {\n  a E = 1 const y;\n}\n", `s.schema:7:17: field a: constant y is not a value of enum E`},
		{"unterminated string", header + "message M = 1 {\n  a string = 1 const \"abc;\n}\n", `s.schema:4:22: unterminated string literal`},
		{"char literal too long", header + "enum E : char {\n  x = 'ab';\n}\n", `s.schema:4:7: invalid character literal 'ab'`},
		{"char literal not ASCII", header + "enum E : char {\n  x = 'é';\n}\n", `s.schema:4:7: invalid character literal`},
		{"char enum value out of range", header + "enum E : uint8 {\n  x = -1;\n}\n", `s.schema:4:3: enum E: value -1 does not fit uint8`},
		{"optional bool member", header + "struct S {\n  a bool optional;\n}\n", `s.schema:4:3: struct S: field a: only integer and float members can be optional`},
		{"optional member method collides", header + "struct S {\n  a int8 optional;\n  has_a int8;\n}\n", `s.schema:4:3: struct S: optional field a generates method HasA, which collides with a field`},
		{"type on a non-group", header + "message M = 1 {\n  a int32 = 1 type A;\n}\n", `s.schema:4:15: field a: "type" names the element type of a group, and a is not a group`},
		{"lower-case group type", header + "message M = 1 {\n  group g = 1 type gg {\n  }\n}\n", `s.schema:4:20: group element type name "gg" must start with an upper-case letter`},
		{"group type collides", header + "message M = 1 {\n  group g = 1 type M {\n  }\n}\n", `s.schema:4:9: group M.g generates the Go name M, which message M (s.schema:3:9) also generates`},
		{"optional group", header + "message M = 1 {\n  group g = 1 optional {\n  }\n}\n", `s.schema:4:9: group g cannot be optional`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.schema", []byte(tc.src))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrSchema))
			var list ErrorList
			require.True(t, errors.As(err, &list))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseReportsEverySemanticError(t *testing.T) {
	_, err := Parse("s.schema", []byte(header+"message M = 1 {\n  a strng = 1;\n  b strng = 2;\n}\n"))
	var list ErrorList
	require.True(t, errors.As(err, &list))
	assert.Len(t, list, 2)
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, Pos{"s.schema", 4, 5}, e.Pos)
}

func TestParseLayout(t *testing.T) {
	s, err := ParseFile("testdata/basic.schema")
	require.NoError(t, err)
	q := s.Messages[0]
	assert.Equal(t, "Quote", q.Name)
	assert.Equal(t, uint32(100), q.TypeID)
	// side(1) flags(1) bid(9) venue(4) seq(8)
	assert.Equal(t, 23, q.FixedLen)
	assert.Equal(t, 4, q.Slots) // symbol, sizes, note, legs
	byName := map[string]*Field{}
	for _, f := range q.Fields {
		byName[f.Name] = f
	}
	assert.Equal(t, 15, byName["seq"].Offset)
	assert.Equal(t, 2, byName["seq"].Since)
	assert.Equal(t, 3, byName["legs"].Slot)
	assert.Equal(t, "Symbol is the instrument.", byName["symbol"].Doc)
	assert.Equal(t, "Quote.legs", byName["legs"].Group.Label)
	assert.Equal(t, "QuoteLegs", byName["legs"].Group.Name)
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{"birth_day": "BirthDay", "id": "ID", "order_id": "OrderID", "x": "X", "camelCase": "CamelCase"} {
		assert.Equal(t, want, GoName(in), in)
	}
}
