// Command rpcbench runs protosocket's RPC layer and grpc-go side by side
// in one process on loopback: unary calls with 1, 16, 64 and 256 callers
// on one connection, and bidirectional streaming, and prints a markdown
// table (calls/s, latency percentiles, allocations per call for client
// plus server, and the ratio to grpc-go). grpc-go runs at its best measured
// configuration, grpcsys.New() (a context per caller with no deadline; see
// "grpc-go at its best" in bench/README.md).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/grpcsys"
	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
)

func main() {
	dur := flag.Duration("duration", 2*time.Second, "measured window per row")
	warm := flag.Duration("warmup", 500*time.Millisecond, "warmup per row")
	callers := flag.String("callers", "1,16,64,256", "unary caller counts")
	payload := flag.Int("payload", 16, "payload bytes")
	window := flag.Int("stream-inflight", 64, "messages in flight per stream")
	swin := flag.Int("stream-window", 0, "protosocket's StreamWindow on both sides (0: 64, or -stream-inflight when larger)")
	sysFlag := flag.String("systems", "grpc,protosocket", "systems to run (grpc, protosocket); ratios need both")
	parts := flag.String("parts", "unary,open,bidi", "what to run: unary (closed loop), open (open loop at half the maximum, needs unary), bidi")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (with -systems protosocket, of protosocket alone)")
	memprof := flag.String("memprofile", "", "write a heap profile (allocations of the whole run, sampled) to this file at the end")
	flag.Parse()
	if *memprof != "" {
		defer func() {
			f, err := os.Create(*memprof)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "rpcbench:", err)
			}
		}()
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	streamWindow = *swin
	if err := run(*dur, *warm, *callers, *payload, *window, *sysFlag, *parts); err != nil {
		fmt.Fprintln(os.Stderr, "rpcbench:", err)
		os.Exit(1)
	}
}

type row struct {
	sys     string
	n       int
	r       *load.Result
	scenari load.Scenario
}

func run(dur, warm time.Duration, callersFlag string, payload, window int, sysFlag, partsFlag string) error {
	ctx := context.Background()
	var counts []int
	for _, f := range strings.Split(callersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -callers %q", callersFlag)
		}
		counts = append(counts, n)
	}
	var systems []load.System
	ps := rpcbench.New()
	if streamWindow > 0 {
		sys := ps.(rpcbench.System)
		sys.Server.StreamWindow, sys.Client.StreamWindow = streamWindow, streamWindow
		ps = sys
	}
	for _, sys := range []load.System{grpcsys.New(), ps} {
		if slices.Contains(strings.Split(sysFlag, ","), sys.Name()) {
			systems = append(systems, sys)
		}
	}
	if len(systems) == 0 {
		return fmt.Errorf("bad -systems %q", sysFlag)
	}
	parts := strings.Split(partsFlag, ",")
	doUnary, doOpen, doBidi := slices.Contains(parts, "unary"), slices.Contains(parts, "open"), slices.Contains(parts, "bidi")
	if !doUnary {
		counts, doOpen = nil, false
	}
	var rows []row
	measure := func(sys load.System, sc load.Scenario, conc int, rate float64) (*load.Result, error) {
		opts := load.Options{Scenario: sc, Payload: payload, Conns: 1, Concurrency: conc}
		srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		cl, err := sys.Dial(ctx, srv.Addr(), opts)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return load.Run(ctx, cl, load.Config{Options: opts, Duration: dur, Warmup: warm, Rate: rate})
	}
	for _, n := range counts {
		for _, sys := range systems {
			r, err := measure(sys, load.Unary, n, 0)
			if err != nil {
				return fmt.Errorf("%s unary %d: %w", sys.Name(), n, err)
			}
			rows = append(rows, row{sys.Name(), n, r, load.Unary})
		}
	}
	for _, sys := range systems {
		if !doBidi {
			break
		}
		r, err := measure(sys, load.Bidi, window, 0)
		if err != nil {
			return fmt.Errorf("%s bidi: %w", sys.Name(), err)
		}
		rows = append(rows, row{sys.Name(), window, r, load.Bidi})
	}
	fmt.Printf("Unary, %d-byte payload, one connection, client and server in one process (%s window after %s warmup)\n\n", payload, dur, warm)
	fmt.Println("| system | callers | calls/s | p50 | p99 | p99.9 | p99.99 | allocs/call | cpu-µs/call | vs grpc-go | errors |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	base := map[string]float64{}
	for _, rw := range rows {
		key := fmt.Sprint(rw.scenari, rw.n)
		if rw.sys == "grpc" {
			base[key] = rw.r.Throughput()
		}
		ratio := ""
		if b := base[key]; b > 0 {
			ratio = fmt.Sprintf("%.1fx", rw.r.Throughput()/b)
		}
		if rw.scenari == load.Bidi {
			continue
		}
		r := rw.r
		fmt.Printf("| %s | %d | %.0f | %v | %v | %v | %v | %.2f | %.2f | %s | %d |\n", rw.sys, rw.n, r.Throughput(),
			r.Percentile(50), r.Percentile(99), r.Percentile(99.9), r.Percentile(99.99), r.AllocsPerOp(), r.CPUPerOp(), ratio, r.Errors)
	}
	// Open loop at half of each system's closed-loop maximum with the
	// largest caller count: latency from the scheduled send time.
	last := 0
	if doOpen {
		last = counts[len(counts)-1]
		fmt.Printf("\nUnary at a fixed offered rate of half the closed-loop maximum, %d callers (open loop)\n\n", last)
		fmt.Println("| system | offered/s | achieved/s | p50 | p99 | p99.9 | p99.99 | allocs/call |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	}
	for _, rw := range rows {
		if !doOpen || rw.scenari != load.Unary || rw.n != last {
			continue
		}
		rate := rw.r.Throughput() / 2
		sys := systems[0]
		if rw.sys != sys.Name() {
			sys = systems[len(systems)-1]
		}
		r, err := measure(sys, load.Unary, last, rate)
		if err != nil {
			return fmt.Errorf("%s open loop: %w", rw.sys, err)
		}
		fmt.Printf("| %s | %.0f | %.0f | %v | %v | %v | %v | %.2f |\n", rw.sys, rate, r.Throughput(),
			r.Percentile(50), r.Percentile(99), r.Percentile(99.9), r.Percentile(99.99), r.AllocsPerOp())
	}
	if !doBidi {
		return nil
	}
	fmt.Printf("\nBidirectional streaming echo, %d messages in flight, one stream (protosocket: credit flow control, window %d)\n\n", window, cmp.Or(streamWindow, max(window, rpcDefaultWindow)))
	fmt.Println("| system | msgs/s | p50 | p99 | p99.9 | allocs/msg | cpu-µs/msg | vs grpc-go | errors |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, rw := range rows {
		if rw.scenari != load.Bidi {
			continue
		}
		r := rw.r
		ratio := ""
		if b := base[fmt.Sprint(rw.scenari, rw.n)]; b > 0 {
			ratio = fmt.Sprintf("%.1fx", r.Throughput()/b)
		}
		fmt.Printf("| %s | %.0f | %v | %v | %v | %.2f | %.2f | %s | %d |\n", rw.sys, r.Throughput(),
			r.Percentile(50), r.Percentile(99), r.Percentile(99.9), r.AllocsPerOp(), r.CPUPerOp(), ratio, r.Errors)
	}
	return nil
}

const rpcDefaultWindow = 64

// streamWindow is -stream-window.
var streamWindow int
