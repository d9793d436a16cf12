package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

var requiredKeys = []string{"system", "scenario", "payload_bytes", "connections", "concurrency", "offered_rps",
	"throughput_rps", "p50_us", "p90_us", "p99_us", "p999_us", "p9999_us", "allocs_per_op", "bytes_per_op",
	"gc_cycles", "cpu_us_per_op"}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
		recs = append(recs, m)
	}
	return recs
}

func TestShortRunRawAndGRPC(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "run.svg")
	code, out, errOut := runCmd(t, "-systems", "raw,grpc", "-duration", "600ms", "-concurrency", "8", "-json", "-svg", svg)
	require.Equal(t, 0, code, errOut)
	recs := jsonLines(t, out)
	require.Len(t, recs, 2)
	for i, want := range []string{"raw", "grpc"} {
		for _, k := range requiredKeys {
			assert.Contains(t, recs[i], k)
		}
		assert.Equal(t, want, recs[i]["system"])
		assert.Equal(t, "unary", recs[i]["scenario"])
		assert.Equal(t, 8.0, recs[i]["concurrency"])
		assert.Positive(t, recs[i]["ops"])
		assert.Equal(t, 0.0, recs[i]["errors"])
	}
	assert.Contains(t, errOut, "ratio raw/grpc (unary)")
	for _, f := range []string{svg, strings.TrimSuffix(svg, ".svg") + ".png"} {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
}

func TestUnreachableServer(t *testing.T) {
	code, out, errOut := runCmd(t, "-systems", "raw", "-client", freeAddr(t), "-duration", "1s")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 1, "one line: %q", errOut)
	assert.Contains(t, lines[0], "raw: cannot reach server at")
	assert.Contains(t, lines[0], "refused")
}

func TestServerAndClientHalves(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var srvOut bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-systems", "raw", "-server", addr}, &srvOut, &srvOut) }()
	defer func() {
		cancel()
		assert.Equal(t, 0, <-done)
	}()
	// Wait for the server to listen.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	code, out, errOut := runCmd(t, "-systems", "raw", "-client", addr, "-scenario", "pipelined", "-duration", "400ms", "-json")
	require.Equal(t, 0, code, errOut)
	recs := jsonLines(t, out)
	require.Len(t, recs, 1)
	assert.Equal(t, "pipelined", recs[0]["scenario"])
	assert.Positive(t, recs[0]["ops"])
}

func TestSweepCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep takes several seconds")
	}
	code, out, errOut := runCmd(t, "-systems", "raw", "-sweep", "-duration", "200ms", "-concurrency", "16", "-json")
	require.Equal(t, 0, code, errOut)
	recs := jsonLines(t, out)
	require.Len(t, recs, 1)
	sw, ok := recs[0]["sweep"].(map[string]any)
	require.True(t, ok, "sweep object")
	assert.Positive(t, sw["max_rate_rps"])
	assert.NotEmpty(t, sw["steps"])
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		systems  []string
		duration time.Duration
		err      string
	}{
		{"defaults: every system, 10s shared", nil, []string{"protosocket", "raw", "grpc", "compat"}, 10 * time.Second / 4, ""},
		{"one system gets the whole 10s", []string{"-systems", "grpc"}, []string{"grpc"}, 10 * time.Second, ""},
		{"-vs raw compares protosocket, first", []string{"-vs", "raw"}, []string{"protosocket", "raw"}, 5 * time.Second, ""},
		{"-vs grpc", []string{"-vs", "grpc", "-duration", "3s"}, []string{"protosocket", "grpc"}, 3 * time.Second, ""},
		{"sweep steps default to 1s", []string{"-sweep"}, []string{"protosocket", "raw", "grpc", "compat"}, time.Second, ""},
		{"unknown system", []string{"-systems", "http"}, nil, 0, "unknown system"},
		{"unknown -vs", []string{"-vs", "http"}, nil, 0, "unknown system"},
		{"-vs with nothing else", []string{"-systems", "grpc", "-vs", "grpc"}, []string{"protosocket", "grpc"}, 0, ""},
		{"bad scenario", []string{"-scenario", "rpc"}, nil, 0, "unknown scenario"},
		{"both halves", []string{"-server", ":1", "-client", ":1"}, nil, 0, "two halves"},
		{"sweep and rate", []string{"-sweep", "-rate", "5"}, nil, 0, "drop -rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.systems, f.systems)
			if tt.duration > 0 {
				assert.Equal(t, tt.duration, f.duration)
			}
		})
	}
}

func TestBadConfigExitsTwo(t *testing.T) {
	code, _, errOut := runCmd(t, "-payload", "4", "-scenario", "bidi")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "invalid config")
}

func TestAddrFor(t *testing.T) {
	got, err := addrFor("127.0.0.1:9000", 2)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9002", got)
	_, err = addrFor("127.0.0.1:0", 1)
	require.Error(t, err)
	_, err = addrFor("nonsense", 0)
	require.Error(t, err)
}
