package grpcsys

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

var (
	cfgDur     = flag.Duration("grpc.d", time.Second, "BenchmarkGRPCConfigs: measured time per configuration and round")
	cfgRounds  = flag.Int("grpc.rounds", 3, "BenchmarkGRPCConfigs: rounds (configurations alternate within each)")
	cfgCallers = flag.Int("grpc.c", 64, "BenchmarkGRPCConfigs: unary callers")
	cfgPayload = flag.Int("grpc.payload", 16, "BenchmarkGRPCConfigs: payload bytes")
	cfgOnly    = flag.String("grpc.configs", "", "BenchmarkGRPCConfigs: comma-separated configuration names to run (default all)")
)

// gRPCConfigs are the configurations BenchmarkGRPCConfigs compares; the
// first is the zero Options, the one psbench uses.
var gRPCConfigs = []Options{
	{},
	{CallContext: RunContext},
	{CallContext: BackgroundContext},
	{ServerWorkers: 2},
	{Window: 4 << 20},
}

// BenchmarkGRPCConfigs puts grpc-go configurations side by side on the
// unary scenario: each keeps its own server and client for the whole
// benchmark, and they alternate in rounds so that drift on a shared
// machine hits them alike. It reports calls/s and CPU-µs per call of each
// (whole process, client and server) as metrics and logs the rounds.
//
//	go test -run '^$' -bench GRPCConfigs -benchtime 1x ./internal/grpcsys
//	go test -run '^$' -bench GRPCConfigs -benchtime 1x ./internal/grpcsys -args -grpc.c 256 -grpc.payload 1048576 -grpc.configs caller-ctx,caller-ctx,window=4194304
func BenchmarkGRPCConfigs(b *testing.B) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Unary, Payload: *cfgPayload, Conns: 1, Concurrency: *cfgCallers}
	type entry struct {
		o   Options
		srv load.Server
		cl  load.Client
		res *load.Result
	}
	var es []*entry
	defer func() {
		for _, e := range es {
			if e.cl != nil {
				_ = e.cl.Close()
			}
			if e.srv != nil {
				_ = e.srv.Close()
			}
		}
	}()
	for _, o := range gRPCConfigs {
		if *cfgOnly != "" && !strings.Contains(","+*cfgOnly+",", ","+o.String()+",") {
			continue
		}
		sys := NewWith(o)
		e := &entry{o: o}
		es = append(es, e)
		var err error
		if e.srv, err = sys.Serve(ctx, "127.0.0.1:0", opts); err != nil {
			b.Fatal(err)
		}
		if e.cl, err = sys.Dial(ctx, e.srv.Addr(), opts); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for r := range *cfgRounds {
			for _, e := range es {
				cfg := load.Config{Options: opts, Duration: *cfgDur, Warmup: *cfgDur / 4}
				res, err := load.Run(ctx, e.cl, cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("round %d %-32s %8.0f calls/s  %6.1f cpu-µs/call  p50 %v  p99 %v  errors %d", r+1, e.o,
					res.Throughput(), res.CPUPerOp(), res.Percentile(50), res.Percentile(99), res.Errors)
				if e.res == nil {
					e.res = res
				} else {
					e.res.Merge(res)
				}
			}
		}
	}
	base := es[0].res.Throughput()
	for _, e := range es {
		name := strings.NewReplacer(",", "+", "=", ":").Replace(e.o.String())
		b.ReportMetric(e.res.Throughput(), name+"-calls/s")
		b.ReportMetric(e.res.CPUPerOp(), name+"-cpu-µs/call")
		b.Logf("%-32s %8.0f calls/s (%.2fx the first)  %6.1f cpu-µs/call  %6.1f allocs/call", e.o, e.res.Throughput(),
			e.res.Throughput()/base, e.res.CPUPerOp(), e.res.AllocsPerOp())
	}
}
