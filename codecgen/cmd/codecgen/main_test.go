package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protosocket-go/protosocket/codecgen"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.schema")
	require.NoError(t, os.WriteFile(bad, []byte("package p;\nschema 1 version 1;\nmessage M = 1 {\n  a strng = 1;\n}\n"), 0o644))
	out := filepath.Join(dir, "out.go")
	outTest := filepath.Join(dir, "out_test.go")
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		produces []string
	}{
		{"no args", nil, 2, "", "usage: codecgen", nil},
		{"unknown command", []string{"frob"}, 2, "", `unknown command "frob"`, nil},
		{"gen", []string{"gen", "-o", out, "-tests", outTest, "../../testdata/basic.schema"}, 0, "", "", []string{out, outTest}},
		{"gen schema error", []string{"gen", "-o", out, bad}, 2, "", bad + `:4:5: unknown type "strng"`, nil},
		{"check compatible", []string{"check", "../../testdata/compat/old.schema", "../../testdata/compat/compatible.schema"}, 0, "", "", nil},
		{"check breaking", []string{"check", "../../testdata/compat/old.schema", "../../testdata/compat/breaking.schema"}, 1,
			"../../testdata/compat/breaking.schema:16: Item.id: type changed from uint64 to uint32", "9 incompatible change(s)", nil},
		{"check args", []string{"check", "x"}, 2, "", "want OLD and NEW", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.code, run(tc.args, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), tc.stdout)
			assert.Contains(t, stderr.String(), tc.stderr)
			for _, f := range tc.produces {
				src, err := os.ReadFile(f)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(string(src), codecgen.Header))
			}
		})
	}
}
