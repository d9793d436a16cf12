package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

// SkipIfRace skips an allocation test where allocation counts are not the
// production ones: under the race detector, which allocates on its own, and
// under -tags psdebug, where released slabs are never reused.
func SkipIfRace(t testing.TB) {
	t.Helper()
	if RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	if PSDebug {
		t.Skip("allocation counts are not meaningful under -tags psdebug (slabs are never reused)")
	}
}

// VerifyTestMain runs the package's tests and then fails the run if any
// goroutine started by the tests is still alive. Use it as the whole body
// of every package's TestMain:
//
//	func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }
func VerifyTestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
