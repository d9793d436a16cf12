package codec

import (
	"os"
	"reflect"
	"regexp"
	"runtime"
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

// TestSmallStructAppenderInlines checks with the compiler's own report
// (go build -gcflags=-m) that AppendSmallStruct, Finish and every setter of
// the direct builder can be inlined: the speed of codecgen/append
// (README.md) rests on it. (That building allocates nothing holds even
// when setters do not inline and is checked by the generated
// TestSmallStructAppenderMatchesAppend; codecgen's TestAppenderInlines
// checks the generator's inlining rule on messages of every shape.)
// Skipped under -short (it runs the compiler), without a go command, with
// another compiler than gc (whose report this reads), and on a Go other
// than 1.26 (whose inlining budget it checks); a report with no verdict
// at all fails, as something turned inlining off.
func TestSmallStructAppenderInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build -gcflags=-m")
	}
	if runtime.Compiler != "gc" {
		t.Skipf("reads gc's -m report; this is %s", runtime.Compiler)
	}
	// Which calls inline is the compiler's cost model, checked here for
	// gc go1.26's budget; another release may rightly differ.
	testenv.SkipUnlessGoRelease(t, "go1.26", "checks gc go1.26's inlining budget")
	// -gcflags here applies to this package and wins over any in GOFLAGS;
	// a build whose result is cached replays the report.
	cmd, _ := testenv.GoCommand(t, "build", "-gcflags=-m", ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m): can inline `).Match(out) {
		t.Fatalf("go build -gcflags=-m reports no function that can inline: is inlining off (GOFLAGS=%q)?\n%s", os.Getenv("GOFLAGS"), out)
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
