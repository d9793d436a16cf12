package codecgen

import (
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGeneratedNamesRegistered parses the code generated for every schema
// in this module and checks that each top-level identifier it declares is
// one the checker reserves (names.go), so a collision between generated
// names is always found at generation time.
func TestGeneratedNamesRegistered(t *testing.T) {
	paths, err := filepath.Glob("internal/testschema/*/*.schema")
	require.NoError(t, err)
	more, _ := filepath.Glob("testdata/*.schema")
	paths = append(paths, more...)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		s, err := ParseFile(path)
		require.NoError(t, err)
		src, err := Generate(s)
		require.NoError(t, err)
		reserved := map[string]bool{"_": true}
		for _, n := range schemaNames {
			reserved[n] = true
		}
		for _, e := range s.Enums {
			for _, n := range enumNames(e) {
				reserved[n] = true
			}
		}
		for _, b := range s.Bitsets {
			for _, n := range bitsetNames(b) {
				reserved[n] = true
			}
		}
		for _, st := range s.Structs {
			for _, n := range structNames(st) {
				reserved[n] = true
			}
		}
		for _, m := range s.Messages {
			for _, n := range append(messageNames(m), appenderNames(m)...) {
				reserved[n] = true
			}
			for _, r := range records(m) {
				for _, n := range recordNames(r) {
					reserved[n] = true
				}
			}
		}
		for _, sv := range s.Services {
			for _, n := range serviceNames(sv) {
				reserved[n] = true
			}
		}
		f, err := goparser.ParseFile(token.NewFileSet(), path+".go", src, 0)
		require.NoError(t, err)
		declared := 0
		for _, d := range f.Decls {
			var names []string
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						names = append(names, sp.Name.Name)
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							names = append(names, n.Name)
						}
					}
				}
			}
			for _, n := range names {
				declared++
				assert.True(t, reserved[n], "%s: generated top-level name %s is not reserved in names.go", path, n)
			}
		}
		assert.NotZero(t, declared)
	}
}

// TestAppenderNamesReservedOnceLaidOut checks that the direct builder's
// names (AppendX, XAppender) are reserved from the checked layout: a
// message whose fields are an enum, a bit set or a constant gets a direct
// builder, so its names collide with a message named like them; a message
// with too many variable fields gets none, so they are free.
func TestAppenderNamesReservedOnceLaidOut(t *testing.T) {
	enums := header + "enum Color : uint8 {\n  red = 1;\n}\nbitset Flags : uint8 {\n  a = 0;\n}\n"
	for _, tc := range []struct{ name, src, want string }{
		{"enum field", enums + "message Foo = 1 {\n  kind Color = 1;\n  name string = 2;\n}\nmessage FooAppender = 2 {\n}\n",
			`s.schema:9:9: message Foo generates the Go name FooAppender, which message FooAppender (s.schema:13:9) also generates: rename one of them`},
		{"enum field, the other order", enums + "message FooAppender = 2 {\n}\nmessage Foo = 1 {\n  kind Color = 1;\n  name string = 2;\n}\n",
			`s.schema:11:9: message Foo generates the Go name FooAppender, which message FooAppender (s.schema:9:9) also generates: rename one of them`},
		{"bit set field", enums + "message Foo = 1 {\n  f Flags = 1;\n}\nmessage AppendFoo = 2 {\n}\n",
			`s.schema:9:9: message Foo generates the Go name AppendFoo, which message AppendFoo (s.schema:12:9) also generates`},
		{"enum constant field", enums + "message Foo = 1 {\n  v Color = 1 const red;\n  name string = 2;\n}\nmessage FooAppender = 2 {\n}\n",
			`s.schema:9:9: message Foo generates the Go name FooAppender, which message FooAppender (s.schema:13:9) also generates`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.schema", []byte(tc.src))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// 32 strings: more variable fields than a direct builder keeps, so no
	// AppendTooMany and no TooManyAppender are generated.
	src := header + "message TooMany = 1 {\n"
	for i := range 32 {
		src += fmt.Sprintf("  s%d string = %d;\n", i, i+1)
	}
	src += "}\nmessage TooManyAppender = 2 {\n  a uint8 = 1;\n}\n"
	s, err := Parse("s.schema", []byte(src))
	require.NoError(t, err)
	require.False(t, hasAppender(s.Messages[0]))
	code, err := Generate(s)
	require.NoError(t, err)
	_, err = goparser.ParseFile(token.NewFileSet(), "x.go", code, 0)
	require.NoError(t, err)
}
