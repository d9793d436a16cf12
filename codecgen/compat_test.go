package codecgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, path string) *Schema {
	s, err := ParseFile(path)
	require.NoError(t, err)
	return s
}

func TestCheckCompatible(t *testing.T) {
	old := parse(t, "testdata/compat/old.schema")
	assert.Empty(t, Check(old, parse(t, "testdata/compat/compatible.schema")))
	assert.Empty(t, Check(old, old))
}

func TestCheckEvolutionSchemas(t *testing.T) {
	v1 := parse(t, "internal/testschema/evov1/order.schema")
	v2 := parse(t, "internal/testschema/evov2/order.schema")
	assert.Empty(t, Check(v1, v2))
	assert.NotEmpty(t, Check(v2, v1), "going back removes fields")
}

func TestCheckBreaking(t *testing.T) {
	old := parse(t, "testdata/compat/old.schema")
	got := Check(old, parse(t, "testdata/compat/breaking.schema"))
	var lines []string
	for _, e := range got {
		assert.True(t, errors.Is(e, ErrIncompatible))
		lines = append(lines, e.Error())
	}
	want := []string{
		"testdata/compat/breaking.schema:6: enum Kind: value toy changed from 2 to 5 (was testdata/compat/old.schema:6)",
		"testdata/compat/breaking.schema:9: struct Dim changed layout (structs are inline and cannot evolve): was {w int32; h int32}, now {w int32; h int64}",
		"testdata/compat/breaking.schema:16: Item.id: type changed from uint64 to uint32 (was testdata/compat/old.schema:15)",
		"testdata/compat/breaking.schema:17: Item.kind: reordered: fixed offset moved from 8 to 4",
		"testdata/compat/breaking.schema:18: Item.dim: reordered: fixed offset moved from 9 to 5",
		"testdata/compat/breaking.schema:20: Item.tags.label: field id 1 reused by title",
		"testdata/compat/breaking.schema:22: Item.price: field added without a version: mark it \"since 2\"",
		"testdata/compat/breaking.schema:25: message type id 2 of removed message Cart reused by Wish",
		"testdata/compat/old.schema:24: message Cart removed",
	}
	all := strings.Join(lines, "\n")
	for _, w := range want {
		assert.Contains(t, all, w)
	}
	assert.Len(t, got, len(want), all)
}

// A changed range is incompatible; deprecating a field is not.
func TestCheckRangeAndDeprecated(t *testing.T) {
	old, err := Parse("old.schema", []byte(header+"message M = 1 {\n  a int32 = 1 range 1..5;\n  b int32 = 2;\n}\n"))
	require.NoError(t, err)
	cur, err := Parse("new.schema", []byte(header+"message M = 1 {\n  a int32 = 1 range 1..9;\n  b int32 = 2 deprecated;\n}\n"))
	require.NoError(t, err)
	bad := Check(old, cur)
	require.Len(t, bad, 1)
	assert.Equal(t, `new.schema:4: M.a: range changed from "1..5" to "1..9" (old readers reject new values, or new readers old ones) (was old.schema:4)`, bad[0].Error())
}

// Changing or removing a constant is incompatible; adding one is not.
func TestCheckConstants(t *testing.T) {
	old, err := Parse("old.schema", []byte(header+"message M = 1 {\n  a string = 1 const \"x\";\n  b int32 = 2 const 7;\n}\n"))
	require.NoError(t, err)
	cur, err := Parse("new.schema", []byte(header+"message M = 1 {\n  a string = 1 const \"y\";\n  c int32 = 3 const 1;\n}\n"))
	require.NoError(t, err)
	var got []string
	for _, e := range Check(old, cur) {
		got = append(got, e.Error())
	}
	assert.Equal(t, []string{
		`new.schema:3: M: constant b removed (was old.schema:5)`,
		`new.schema:4: M.a: constant changed from string "x" to string "y" (was old.schema:4)`,
	}, got)
}

// Making a struct member optional changes what its bytes mean.
func TestCheckOptionalStructMember(t *testing.T) {
	old, err := Parse("old.schema", []byte(header+"struct S {\n  a int8;\n}\n"))
	require.NoError(t, err)
	cur, err := Parse("new.schema", []byte(header+"struct S {\n  a int8 optional;\n}\n"))
	require.NoError(t, err)
	bad := Check(old, cur)
	require.Len(t, bad, 1)
	assert.Contains(t, bad[0].Error(), "struct S changed layout")
}
