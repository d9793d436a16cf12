package codecgen

import (
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
			for _, n := range messageNames(m) {
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
