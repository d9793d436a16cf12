package greeterpb_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// protocLine is the header line naming protoc's version: the one part of
// the generated files that depends on the machine, so it is left out of
// the comparison.
var protocLine = regexp.MustCompile(`(?m)^// \tprotoc +v.*\n`)

// TestGeneratedIsFresh regenerates greeter.pb.go and
// greeter_protosocket.pb.go with protoc (skipped when protoc is not
// installed), protoc-gen-go (built from this module's protobuf version)
// and protoc-gen-go-protosocket (built from this tree), and requires the
// committed files to be byte for byte the same, but for protoc's version.
func TestGeneratedIsFresh(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc is not installed (Debian: apt-get install protobuf-compiler; interop/setup.sh does)")
	}
	if testing.Short() {
		t.Skip("builds two plugins")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"google.golang.org/protobuf/cmd/protoc-gen-go",
		"github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	dir := t.TempDir()
	cmd := exec.Command(protoc, "-I.",
		"--plugin=protoc-gen-go="+filepath.Join(bin, "protoc-gen-go"),
		"--plugin=protoc-gen-go-protosocket="+filepath.Join(bin, "protoc-gen-go-protosocket"),
		"--go_out="+dir, "--go_opt=paths=source_relative",
		"--go-protosocket_out="+dir, "--go-protosocket_opt=paths=source_relative",
		"greeter.proto")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, name := range []string{"greeter.pb.go", "greeter_protosocket.pb.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(protocLine.ReplaceAll(want, nil), protocLine.ReplaceAll(got, nil)),
			"%s is stale: regenerate it (see doc.go)", name)
	}
}
