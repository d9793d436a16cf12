package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// GoCommand returns a command that runs the go command with args, for a
// test that builds or tests other packages, and the context that ends it;
// it skips t where there is no go command. The context ends a tenth of
// the test's remaining time before its -timeout deadline, and then the
// command is interrupted, not killed, so the go command stops its
// compilers and test binary and removes its work directory (a kill left
// them running and /tmp/go-build* behind); it is given 10 s for that.
func GoCommand(t *testing.T, args ...string) (*exec.Cmd, context.Context) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("runs the go command, and there is none: %v", err)
	}
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Until(d)/10))
		t.Cleanup(cancel)
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd, ctx
}

// SkipUnlessGoRelease skips t, saying why and which Go this is, unless
// the go command's GOVERSION begins with release ("go1.26"): for checks of
// one release's compiler, such as its inlining budget, which another
// release (chosen through GOTOOLCHAIN, say) may rightly change.
func SkipUnlessGoRelease(t *testing.T, release, why string) {
	t.Helper()
	cmd, _ := GoCommand(t, "env", "GOVERSION")
	v, err := cmd.Output()
	if err != nil {
		t.Fatalf("go env GOVERSION: %v", err)
	}
	if !strings.HasPrefix(string(v), release) {
		t.Skipf("%s; this is %s", why, bytes.TrimSpace(v))
	}
}
