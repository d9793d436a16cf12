package codec

import (
	"os/exec"
	"reflect"
	"regexp"
	"testing"
)

// TestSmallStructAppenderInlines checks with the compiler's own report
// (go build -gcflags=-m) that AppendSmallStruct, Finish and every setter of
// the direct builder can be inlined: the speed of codecgen/append
// (README.md) rests on it. (That building allocates nothing holds even
// when setters do not inline and is checked by the generated
// TestSmallStructAppenderMatchesAppend.) Skipped under -short: it runs
// the compiler.
func TestSmallStructAppenderInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build -gcflags=-m")
	}
	out, err := exec.Command("go", "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
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
