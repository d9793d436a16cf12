package codecgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the generator's output")

// TestGolden compares the generator's output for every testdata/*.schema
// with testdata/NAME.golden and testdata/NAME_test.golden; run with
// -update to refresh them after an intended change.
func TestGolden(t *testing.T) {
	schemas, err := filepath.Glob("testdata/*.schema")
	require.NoError(t, err)
	require.NotEmpty(t, schemas)
	for _, path := range schemas {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s, err := ParseFile(path)
			require.NoError(t, err)
			code, err := Generate(s)
			require.NoError(t, err)
			tests, err := GenerateTests(s)
			require.NoError(t, err)
			base := strings.TrimSuffix(path, ".schema")
			for file, got := range map[string][]byte{base + ".golden": code, base + "_test.golden": tests} {
				if *update {
					require.NoError(t, os.WriteFile(file, got, 0o644))
					continue
				}
				want, err := os.ReadFile(file)
				require.NoError(t, err, "run go test ./codecgen -run TestGolden -update")
				assert.Equal(t, string(want), string(got), "%s is stale: run go test ./codecgen -run TestGolden -update", file)
			}
		})
	}
}

// goGenerate matches the codecgen go:generate lines of committed packages.
var goGenerate = regexp.MustCompile(`(?m)^//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o (\S+) -tests (\S+) (\S+)$`)

// TestGeneratedFilesNotStale regenerates, in memory, every generated file
// committed in this repository (found through go:generate lines) and fails
// if one differs: run go generate in that directory to fix it.
func TestGeneratedFilesNotStale(t *testing.T) {
	var dirs []string
	for _, root := range []string{"internal/testschema", "../bench/codec"} {
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	checked := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range goGenerate.FindAllStringSubmatch(string(src), -1) {
				out, testOut, schema := m[1], m[2], m[3]
				s, err := ParseFile(filepath.Join(dir, schema))
				require.NoError(t, err)
				code, err := Generate(s)
				require.NoError(t, err)
				tests, err := GenerateTests(s)
				require.NoError(t, err)
				for name, want := range map[string][]byte{out: code, testOut: tests} {
					have, err := os.ReadFile(filepath.Join(dir, name))
					require.NoError(t, err)
					assert.True(t, bytes.Equal(have, want), "%s is stale: run go generate in %s", filepath.Join(dir, name), dir)
					checked++
				}
			}
		}
	}
	assert.GreaterOrEqual(t, checked, 6, "people, evov1 and evov2 each have a code and a test file")
}

func TestGeneratedHeaderAndGuard(t *testing.T) {
	s, err := ParseFile("testdata/basic.schema")
	require.NoError(t, err)
	code, err := Generate(s)
	require.NoError(t, err)
	src := string(code)
	assert.True(t, strings.HasPrefix(src, Header+"\n"))
	assert.Contains(t, src, "const _ = flyweight.SupportPackageIsVersion1")
	assert.Contains(t, src, "// Symbol is the instrument.\n//\n// The result is a copy; see SymbolView for a zero-copy view.\nfunc (m Quote) Symbol() string")
	assert.Contains(t, src, "const QuoteTypeID uint32 = 100")
	assert.Contains(t, src, "// Side is a trade side.\ntype Side uint8")
	tests, err := GenerateTests(s)
	require.NoError(t, err)
	assert.Contains(t, string(tests), "func FuzzQuote(f *testing.F)")
	assert.Contains(t, string(tests), "func TestQuoteRoundTrip(t *testing.T)")
}
