package otelsys_test

import (
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/bench/internal/otelsys"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// TestSystemScenarios: the instrumented system serves every psbench
// scenario (the stream interceptors included) without errors or leaks.
func TestSystemScenarios(t *testing.T) {
	var scs []loadtest.Scenario
	for _, sc := range []load.Scenario{load.Unary, load.Bidi, load.Pipelined, load.ServerStream} {
		scs = append(scs, loadtest.Scenario{Scenario: sc, Concurrency: 8})
	}
	loadtest.RunScenarios(t, otelsys.New(), 1, 200*time.Millisecond, scs...)
}
