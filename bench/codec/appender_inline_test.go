package codec

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSmallStructAppenderInlines checks with the compiler's own report
// (go build -gcflags=-m) that AppendSmallStruct, Finish and every setter of
// the direct builder can be inlined: the speed of codecgen/append
// (README.md) rests on it. (That building allocates nothing holds even
// when setters do not inline and is checked by the generated
// TestSmallStructAppenderMatchesAppend; codecgen's TestAppenderInlines
// checks the generator's inlining rule on messages of every shape.)
// Skipped under -short (it runs the compiler), without a go command, with
// another compiler than gc (whose report this reads), and when the report
// holds no inlining verdict at all on a Go other than 1.26 (its format
// changed); on 1.26 that fails, as something turned inlining off.
func TestSmallStructAppenderInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build -gcflags=-m")
	}
	if runtime.Compiler != "gc" {
		t.Skipf("reads gc's -m report; this is %s", runtime.Compiler)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("runs go build and there is no go command: %v", err)
	}
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Until(d)/10))
		defer cancel()
	}
	// -gcflags here applies to this package and wins over any in GOFLAGS;
	// a build whose result is cached replays the report.
	// Which calls inline is the compiler's cost model, checked here for
	// gc go1.26's budget; another release (GOTOOLCHAIN) may rightly
	// differ, so it is skipped there, saying so.
	if v, _ := exec.Command(goCmd, "env", "GOVERSION").Output(); !strings.HasPrefix(string(v), "go1.26") {
		t.Skipf("checks gc go1.26's inlining budget; this is %s", bytes.TrimSpace(v))
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-gcflags=-m", ".")
	// An interrupt, not a kill, at the deadline: the go command stops its
	// compiler and removes its work directory.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m): can inline `).Match(out) {
		v, _ := exec.Command(goCmd, "env", "GOVERSION").Output()
		if !strings.HasPrefix(string(v), "go1.26") {
			t.Skipf("go build -gcflags=-m gives no \"can inline\" line this test can read (the format of go1.26; this is %s)", bytes.TrimSpace(v))
		}
		t.Fatalf("go build -gcflags=-m (%s) reports no function that can inline: is inlining off (GOFLAGS=%q)?\n%s", bytes.TrimSpace(v), os.Getenv("GOFLAGS"), out)
	}
	want := []string{"AppendSmallStruct"}
	typ := reflect.TypeFor[*SmallStructAppender]()
	for i := range typ.NumMethod() {
		want = append(want, "(*SmallStructAppender)."+typ.Method(i).Name)
	}
	if len(want) < 10 { // AppendSmallStruct, Finish, six fields' setters, two Bytes ones
		t.Fatalf("only %d functions to check: %v", len(want), want)
	}
	for _, fn := range want {
		if !regexp.MustCompile(`(?m): can inline ` + regexp.QuoteMeta(fn) + `( |$)`).Match(out) {
			t.Errorf("go build -gcflags=-m does not report that %s can inline", fn)
		}
	}
}
