package socketbench

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

var reportFile = flag.String("report", "", "TestReport writes its Markdown table to this file")

const window = 256

// system starts one system's server and returns a client factory and the
// teardown.
type system struct {
	name  string
	start func(t testing.TB) (dial func(pipelined bool) echoClient, serverFPW func() float64)
}

// psSystem is protosocket with the batch API on both sides (batch) or the
// one-message API.
func psSystem(name string, batch bool) system {
	return system{name, func(t testing.TB) (func(bool) echoClient, func() float64) {
		srv, err := startPSWith(batch)
		require.NoError(t, err)
		t.Cleanup(srv.close)
		return func(bool) echoClient {
				c, err := dialPS(srv.addr(), batch)
				require.NoError(t, err)
				t.Cleanup(c.close)
				return c
			}, func() float64 {
				st := srv.stats()
				return st.FramesPerWrite()
			}
	}}
}

// rpcSystem is a socket/rpc stream echo: Recv + Buffered + SendMany on
// the server and SendMany per refill on the client (many), or Send per
// message on both sides.
func rpcSystem(name string, many bool) system {
	return system{name, func(t testing.TB) (func(bool) echoClient, func() float64) {
		srv, err := startRPC(many)
		require.NoError(t, err)
		t.Cleanup(srv.close)
		return func(pipelined bool) echoClient {
			c, err := dialRPC(srv.addr(), many, pipelined)
			require.NoError(t, err)
			t.Cleanup(c.close)
			return c
		}, func() float64 { return 0 }
	}}
}

// systems: protosocket's batch API (OnBatch, Batch.Reply, SendBatch), its
// one-message API (OnMessage, Conn.Reply, Sender.Send), the minimal echo.
var systems = []system{
	psSystem("protosocket", true),
	psSystem("protosocket-1msg", false),
	{"raw", func(t testing.TB) (func(bool) echoClient, func() float64) {
		srv, err := startRaw()
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return func(pipelined bool) echoClient {
			c, err := dialRaw(srv.Addr())
			require.NoError(t, err)
			if pipelined {
				c.startReader()
			}
			t.Cleanup(c.close)
			return c
		}, func() float64 { return 0 }
	}},
	rpcSystem("rpc-stream", true),
	rpcSystem("rpc-stream-send", false),
}

// Every pipelined message comes back once, unchanged and in order (the
// receiver checks the sequence number each carries), with at most the
// window in flight.
func TestPipelinedEcho(t *testing.T) {
	for _, sys := range systems {
		t.Run(sys.name, func(t *testing.T) {
			dial, _ := sys.start(t)
			c := dial(true)
			require.NoError(t, pipeline(c, 20000, window))
			require.NoError(t, pipeline(c, 1, window), "a second run continues the sequence")
			assert.Equal(t, int64(20001), c.pipe().recvd.Load())
		})
	}
}

func TestRPCWindowIsThePipelineWindow(t *testing.T) { assert.Equal(t, window, rpcWindow) }

// A changed or reordered echo is reported, not counted.
func TestPipeStateRejectsBadEcho(t *testing.T) {
	ps := newPipeState()
	p := make([]byte, msgSize)
	ps.received(p)
	ps.received(p) // sequence 0 again: out of order
	<-ps.dead
	require.ErrorContains(t, ps.err, "out of order")
	assert.Equal(t, int64(1), ps.recvd.Load())
}

func TestRoundTrip(t *testing.T) {
	for _, sys := range systems {
		t.Run(sys.name, func(t *testing.T) {
			dial, _ := sys.start(t)
			c := dial(false)
			for range 100 {
				require.NoError(t, c.roundTrip(make([]byte, msgSize)))
			}
		})
	}
}

// The two extra one-in-flight measurements of the report run and see
// every reply.
func TestPingPongAndReaderRoundTrips(t *testing.T) {
	ps, err := startPS()
	require.NoError(t, err)
	defer ps.close()
	h, err := reactorPingPong(ps.addr(), 10, 100)
	require.NoError(t, err)
	assert.Equal(t, int64(100), h.TotalCount())
	raw, err := startRaw()
	require.NoError(t, err)
	defer func() { _ = raw.Close() }()
	h, err = rawReaderRoundTrips(raw.Addr(), 10, 100)
	require.NoError(t, err)
	assert.Equal(t, int64(100), h.TotalCount())
}

// mallocsPerMessage runs a warm-up then n pipelined messages and returns
// the heap allocations of the whole process (client and server sides) per
// message.
func mallocsPerMessage(t testing.TB, c echoClient, n int) float64 {
	require.NoError(t, pipeline(c, 100_000, window))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, pipeline(c, n, window))
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}

// Over a million pipelined messages neither side allocates in steady
// state. The bound is not zero: 100 to 16,000 allocations per million were
// measured on the socket side (pooled buffers refilled or grown after a GC
// empties sync.Pool; more on a loaded machine); an allocation per message
// would read 1.0.
func TestPipelinedAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if testing.Short() {
		t.Skip("a million messages")
	}
	for _, sys := range systems {
		t.Run(sys.name, func(t *testing.T) {
			dial, _ := sys.start(t)
			per := mallocsPerMessage(t, dial(true), 1_000_000)
			t.Logf("%s: %.5f allocations per message", sys.name, per)
			assert.LessOrEqual(t, per, 0.05)
		})
	}
}

// measured is one system's row of the report.
type measured struct {
	name                 string
	msgsPerSec           float64
	cpuNsPerMsg          float64 // process CPU (user+system, both sides) per pipelined message
	allocsPerMsg         float64
	p50, p99, p999       time.Duration
	clientFPW, serverFPW float64
}

func measure(t *testing.T, sys system) measured {
	m := measured{name: sys.name}
	dial, serverFPW := sys.start(t)
	c := dial(true)
	m.allocsPerMsg = mallocsPerMessage(t, c, 1_000_000)
	const n = 2_000_000
	cpu0 := cpuTime()
	begin := time.Now()
	require.NoError(t, pipeline(c, n, window))
	m.msgsPerSec = n / time.Since(begin).Seconds()
	m.cpuNsPerMsg = float64(cpuTime()-cpu0) / n
	m.clientFPW, m.serverFPW = c.framesPerWrite(), serverFPW()

	rt := dial(false)
	h := hdrhistogram.New(1, int64(time.Second), 3)
	p := make([]byte, msgSize)
	for i := range 60_000 {
		t0 := time.Now()
		require.NoError(t, rt.roundTrip(p))
		if i >= 10_000 { // warm-up
			require.NoError(t, h.RecordValue(int64(time.Since(t0))))
		}
	}
	m.p50 = time.Duration(h.ValueAtQuantile(50))
	m.p99 = time.Duration(h.ValueAtQuantile(99))
	m.p999 = time.Duration(h.ValueAtQuantile(99.9))
	return m
}

// TestReport measures both systems in one run and writes the table to
// -report (it only logs it without the flag). It asserts nothing about the
// figures: timings belong in reports, not in pass/fail.
func TestReport(t *testing.T) {
	if *reportFile == "" {
		t.Skip("measurement: run with -args -report=FILE")
	}
	var rows []measured
	for _, sys := range systems {
		rows = append(rows, measure(t, sys))
	}
	ps, ps1, raw, rs, rs1 := rows[0], rows[1], rows[2], rows[3], rows[4]
	// One message in flight, split into its causes (see pingpong.go),
	// against the batch echo and the one-message echo.
	psSrv, err := startPS()
	require.NoError(t, err)
	defer psSrv.close()
	reactor, err := reactorPingPong(psSrv.addr(), 10_000, 50_000)
	require.NoError(t, err)
	ps1Srv, err := startPSWith(false)
	require.NoError(t, err)
	defer ps1Srv.close()
	reactor1, err := reactorPingPong(ps1Srv.addr(), 10_000, 50_000)
	require.NoError(t, err)
	rawSrv, err := startRaw()
	require.NoError(t, err)
	defer func() { _ = rawSrv.Close() }()
	rawReader, err := rawReaderRoundTrips(rawSrv.Addr(), 10_000, 50_000)
	require.NoError(t, err)
	q := func(h *hdrhistogram.Histogram, p float64) time.Duration {
		return time.Duration(h.ValueAtQuantile(p)).Round(100 * time.Nanosecond)
	}
	r100 := func(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }

	// The main table's round trip is each system's own: protosocket's
	// reactor answers each echo (Conn.Reply), the minimal echo's caller
	// reads it; neither hands a message to another goroutine. The second
	// table adds the variants with one hand-off on each side.
	var b strings.Builder
	fmt.Fprintf(&b, "load average at the end: %s\n\n", loadAvg())
	fmt.Fprintf(&b, "| system | pipelined msgs/s (16 B, 1 conn, %d in flight) | CPU ns/msg (both sides) | allocs/msg (1M msgs, both sides) | RTT p50 | RTT p99 | RTT p99.9 | frames/write client | frames/write server |\n", window)
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	fpw := func(v float64) string {
		if v == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", v)
	}
	fmt.Fprintf(&b, "| %s | %.2fM | %.0f | %.5f | %v | %v | %v | %s | %s |\n", ps.name, ps.msgsPerSec/1e6, ps.cpuNsPerMsg, ps.allocsPerMsg,
		q(reactor, 50), q(reactor, 99), q(reactor, 99.9), fpw(ps.clientFPW), fpw(ps.serverFPW))
	fmt.Fprintf(&b, "| %s | %.2fM | %.0f | %.5f | %v | %v | %v | %s | %s |\n", ps1.name, ps1.msgsPerSec/1e6, ps1.cpuNsPerMsg, ps1.allocsPerMsg,
		q(reactor1, 50), q(reactor1, 99), q(reactor1, 99.9), fpw(ps1.clientFPW), fpw(ps1.serverFPW))
	fmt.Fprintf(&b, "| %s | %.2fM | %.0f | %.5f | %v | %v | %v | %s | %s |\n", raw.name, raw.msgsPerSec/1e6, raw.cpuNsPerMsg, raw.allocsPerMsg,
		r100(raw.p50), r100(raw.p99), r100(raw.p999), fpw(raw.clientFPW), fpw(raw.serverFPW))
	for _, m := range []measured{rs, rs1} {
		fmt.Fprintf(&b, "| %s | %.2fM | %.0f | %.5f | %v | %v | %v | %s | %s |\n", m.name, m.msgsPerSec/1e6, m.cpuNsPerMsg, m.allocsPerMsg,
			r100(m.p50), r100(m.p99), r100(m.p999), fpw(m.clientFPW), fpw(m.serverFPW))
	}
	ratio := func(a, b float64) float64 { return a / b }
	fmt.Fprintf(&b, "\nprotosocket/raw: throughput %.2fx (target >= 0.80), CPU per message %.2fx, RTT p50 %.2fx (target <= 1.20), p99 %.2fx, p99.9 %.2fx\n",
		ps.msgsPerSec/raw.msgsPerSec, ps.cpuNsPerMsg/raw.cpuNsPerMsg, ratio(float64(reactor.ValueAtQuantile(50)), float64(raw.p50)),
		ratio(float64(reactor.ValueAtQuantile(99)), float64(raw.p99)), ratio(float64(reactor.ValueAtQuantile(99.9)), float64(raw.p999)))
	fmt.Fprintf(&b, "protosocket-1msg/raw: throughput %.2fx, CPU per message %.2fx, RTT p50 %.2fx, p99 %.2fx, p99.9 %.2fx\n",
		ps1.msgsPerSec/raw.msgsPerSec, ps1.cpuNsPerMsg/raw.cpuNsPerMsg, ratio(float64(reactor1.ValueAtQuantile(50)), float64(raw.p50)),
		ratio(float64(reactor1.ValueAtQuantile(99)), float64(raw.p99)), ratio(float64(reactor1.ValueAtQuantile(99.9)), float64(raw.p999)))
	for _, m := range []measured{rs, rs1} {
		fmt.Fprintf(&b, "%s/protosocket: throughput %.2fx (target >= 0.60), CPU per message %.2fx; %s/raw: throughput %.2fx, CPU per message %.2fx\n",
			m.name, m.msgsPerSec/ps.msgsPerSec, m.cpuNsPerMsg/ps.cpuNsPerMsg, m.name, m.msgsPerSec/raw.msgsPerSec, m.cpuNsPerMsg/raw.cpuNsPerMsg)
	}
	b.WriteString("\nrpc-stream: one socket/rpc bidi stream on one connection, credit window 256 both ways; the server handler takes a message, then every one Buffered() says is waiting, and answers them with one SendMany; the client sends each refill of the window with one SendMany and reads the echoes with Recv on its own goroutine. rpc-stream-send: Send per message on both sides. Their RTT columns are Send then Recv on the caller's goroutine (a hand-off from the connection's reader).\n")
	b.WriteString("\n| one message in flight | p50 | p99 | p99.9 |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| raw, the caller reads the reply | %v | %v | %v |\n", r100(raw.p50), r100(raw.p99), r100(raw.p999))
	fmt.Fprintf(&b, "| protosocket, the reactor sends the next message (Reply), batch echo | %v | %v | %v |\n", q(reactor, 50), q(reactor, 99), q(reactor, 99.9))
	fmt.Fprintf(&b, "| protosocket, the same against the one-message echo | %v | %v | %v |\n", q(reactor1, 50), q(reactor1, 99), q(reactor1, 99.9))
	fmt.Fprintf(&b, "| raw, a reader goroutine hands the reply to the caller | %v | %v | %v |\n", q(rawReader, 50), q(rawReader, 99), q(rawReader, 99.9))
	fmt.Fprintf(&b, "| protosocket, the reactor hands the reply to the caller | %v | %v | %v |\n", r100(ps.p50), r100(ps.p99), r100(ps.p999))
	fmt.Fprintf(&b, "\nRTT p50 with a hand-off on both sides: protosocket caller-waits / raw reader-goroutine %.2fx (p99 %.2fx)\n",
		ratio(float64(ps.p50), float64(rawReader.ValueAtQuantile(50))), ratio(float64(ps.p99), float64(rawReader.ValueAtQuantile(99))))
	t.Log("\n" + b.String())
	require.NoError(t, os.MkdirAll(filepath.Dir(*reportFile), 0o755))
	require.NoError(t, os.WriteFile(*reportFile, []byte(b.String()), 0o644))
}

// cpuTime returns the process's CPU time (user plus system) in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// loadAvg returns /proc/loadavg's three load averages, or "n/a".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "n/a"
}

func BenchmarkPipelinedEcho(b *testing.B) {
	for _, sys := range systems {
		b.Run(sys.name, func(b *testing.B) {
			dial, _ := sys.start(b)
			c := dial(true)
			require.NoError(b, pipeline(c, 10_000, window))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			require.NoError(b, pipeline(c, b.N, window))
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/msg")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(c.framesPerWrite(), "frames/write")
		})
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, sys := range systems {
		b.Run(sys.name, func(b *testing.B) {
			dial, _ := sys.start(b)
			c := dial(false)
			p := make([]byte, msgSize)
			binary.LittleEndian.PutUint64(p, 1)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.roundTrip(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
