// Package loadtest holds the checks every load.System's tests share: a
// short real run of each scenario over loopback that must complete
// operations without errors.
package loadtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// Scenario is one scenario to run and its concurrency (callers, or
// messages in flight).
type Scenario struct {
	Scenario    load.Scenario
	Concurrency int
}

// RunScenarios serves sys on 127.0.0.1, dials it with conns connections
// and runs each scenario for d, failing t unless every run completes at
// least one operation with no errors and a positive median latency.
func RunScenarios(t *testing.T, sys load.System, conns int, d time.Duration, scenarios ...Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(string(sc.Scenario), func(t *testing.T) {
			ctx := context.Background()
			opts := load.Options{Scenario: sc.Scenario, Payload: 16, Conns: conns, Concurrency: sc.Concurrency}
			srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			c, err := sys.Dial(ctx, srv.Addr(), opts)
			require.NoError(t, err)
			defer c.Close()
			res, err := load.Run(ctx, c, load.Config{Options: opts, Duration: d})
			require.NoError(t, err)
			assert.Positive(t, res.Ops)
			assert.Zero(t, res.Errors, "first error: %v", res.FirstError)
			assert.Positive(t, res.Percentile(50))
		})
	}
}
