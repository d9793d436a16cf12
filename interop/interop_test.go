package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
	"github.com/protosocket-go/protosocket/socket"
)

const (
	protoFile = "../examples/protoecho/echo.proto"
	javaJar   = "/usr/share/java/protobuf.jar"
	peerLimit = 30 * time.Second
)

// required reports whether a missing peer runtime must fail the test.
func required() bool {
	return os.Getenv("INTEROP") == "1" || os.Getenv("CI") == "true"
}

// need fails (INTEROP=1 or CI=true) or skips when what is missing.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if required() {
		t.Fatalf("interop peer missing: %s (run interop/setup.sh)", what)
	}
	t.Skipf("interop peer missing: %s; run interop/setup.sh, or set INTEROP=1 to make this a failure", what)
}

func hasCmd(name string) bool { _, err := exec.LookPath(name); return err == nil }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// startServer serves protoecho on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T) (host, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- echo.Serve(ctx, ln, socket.Options{}) }()
	t.Cleanup(func() { cancel(); <-done })
	host, port, err = net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	return host, port
}

// runPeer runs a client with a timeout and asserts on its exit code and
// its report lines.
func runPeer(t *testing.T, name string, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", name, out)
	require.NoError(t, err, "%s client failed", name)
	for _, want := range []string{"ok: unary", "ok: stream 5", "ok: cancel", "PASS " + name} {
		require.Contains(t, string(out), want)
	}
	require.NotContains(t, string(out), "FAIL")
}

func TestNodeProtobufjs(t *testing.T) {
	need(t, hasCmd("node"), "node")
	need(t, exists("node/node_modules/protobufjs/package.json"), "node/node_modules/protobufjs (npm ci in interop/node)")
	host, port := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), peerLimit)
	defer cancel()
	runPeer(t, "node", exec.CommandContext(ctx, "node", "node/client.js", protoFile, host, port))
}

func TestJavaProtobuf(t *testing.T) {
	need(t, hasCmd("protoc"), "protoc (protobuf-compiler)")
	need(t, hasCmd("javac") && hasCmd("java"), "javac/java (a JDK)")
	need(t, exists(javaJar), javaJar+" (libprotobuf-java)")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*peerLimit)
	defer cancel()
	gen := exec.CommandContext(ctx, "protoc", "--java_out="+dir, "-I", filepath.Dir(protoFile), protoFile)
	out, err := gen.CombinedOutput()
	require.NoError(t, err, "protoc: %s", out)
	srcs := []string{"java/EchoClient.java"}
	err = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".java") {
			srcs = append(srcs, p)
		}
		return err
	})
	require.NoError(t, err)
	classes := filepath.Join(dir, "classes")
	args := append([]string{"-nowarn", "-d", classes, "-cp", javaJar}, srcs...)
	out, err = exec.CommandContext(ctx, "javac", args...).CombinedOutput()
	require.NoError(t, err, "javac: %s", out)

	host, port := startServer(t)
	cp := javaJar + string(os.PathListSeparator) + classes
	runPeer(t, "java", exec.CommandContext(ctx, "java", "-cp", cp, "EchoClient", host, port))
}
