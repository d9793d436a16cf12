package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
	}{
		{"pipelined", config{n: 5000, size: 16, window: 256}},
		{"one in flight", config{n: 200, size: 64, window: 1}},
		{"large", config{n: 50, size: 100 << 10, window: 8}},
		{"none", config{n: 0, size: 16, window: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out bytes.Buffer
			res, err := run(ctx, &out, tt.cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.cfg.n, res.Messages)
			assert.Contains(t, out.String(), "echoed ")
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	_, err := run(context.Background(), &bytes.Buffer{}, config{n: 1, size: 4, window: 1})
	require.Error(t, err)
}
