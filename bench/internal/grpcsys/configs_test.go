package grpcsys

import (
	"context"
	"flag"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

var (
	cfgDur     = flag.Duration("grpc.d", time.Second, "BenchmarkGRPCConfigs: measured time per configuration and round")
	cfgRounds  = flag.Int("grpc.rounds", 3, "BenchmarkGRPCConfigs: rounds (configurations alternate within each)")
	cfgCallers = flag.Int("grpc.c", 64, "BenchmarkGRPCConfigs: unary callers")
	cfgPayload = flag.Int("grpc.payload", 16, "BenchmarkGRPCConfigs: payload bytes")
	cfgOnly    = flag.String("grpc.configs", "", "BenchmarkGRPCConfigs: semicolon-separated configuration names to run (default all)")
	cfgBare    = flag.Bool("grpc.bare", false, "BenchmarkGRPCConfigs: also run each configuration through bareLoop (the harness's loop) next to load.Run")
)

// gRPCConfigs are the configurations BenchmarkGRPCConfigs compares; the
// first is the zero Options, the one psbench uses; each other one changes
// one knob of it, except harness, which is every knob of
// /work/shared/grpc-baseline at once (see Options).
var gRPCConfigs = []Options{
	{},
	harness,
	{Codec: CodecBytes},
	{Codec: CodecSubtype},
	{DisableRetry: true},
	{FreshResponse: true},
	{CallContext: SharedContext},
	{CallContext: BackgroundContext},
	{CallContext: RunContext},
	{ServerWorkers: 2},
	{Window: 4 << 20},
	{ServerWorkers: 2, Window: 4 << 20},
}

// harness is /work/shared/grpc-baseline's configuration: a registered
// []byte codec chosen by content-subtype, a new response message per call, one cancelable context shared by
// every caller.
var harness = Options{CallContext: SharedContext, Codec: CodecSubtype, FreshResponse: true}

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
		if *cfgOnly != "" && !strings.Contains(";"+*cfgOnly+";", ";"+o.String()+";") {
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
		if *cfgBare {
			es = append(es, &entry{o: o, bare: true, srv: e.srv, cl: e.cl})
		}
	}
	for b.Loop() {
		for r := range *cfgRounds {
			for _, e := range es {
				cfg := load.Config{Options: opts, Duration: *cfgDur, Warmup: *cfgDur / 4}
				var res *load.Result
				var err error
				if e.bare {
					res, err = bareLoop(ctx, e.cl, cfg)
				} else {
					res, err = load.Run(ctx, e.cl, cfg)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("round %d %-48s %8.0f calls/s  %6.1f cpu-µs/call  p50 %v  p99 %v  errors %d", r+1, e.name(),
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
		name := strings.NewReplacer(",", "+", "=", ":").Replace(e.name())
		b.ReportMetric(e.res.Throughput(), name+"-calls/s")
		b.ReportMetric(e.res.CPUPerOp(), name+"-cpu-µs/call")
		b.Logf("%-48s %8.0f calls/s (%.2fx the first)  %6.1f cpu-µs/call  %6.1f allocs/call  %8.0f B/call  %d GCs", e.name(), e.res.Throughput(),
			e.res.Throughput()/base, e.res.CPUPerOp(), e.res.AllocsPerOp(), e.res.BytesPerOp(), e.res.GCCycles)
	}
}

// entry is one configuration of BenchmarkGRPCConfigs and the loop that
// drives it.
type entry struct {
	o    Options
	bare bool
	srv  load.Server
	cl   load.Client
	res  *load.Result
}

func (e *entry) name() string {
	if e.bare {
		return e.o.String() + ",bare-loop"
	}
	return e.o.String()
}

// bareLoop drives cfg's unary closed loop the way
// /work/shared/grpc-baseline's grpc_unary does, as a yardstick for
// load.Run's own cost per call: the warm-up and the window are one loop
// per caller, the only per-call work besides the call is two reads of the
// clock, a check of ctx and an append to the caller's own slice; CPU is
// the process's from the end of the warm-up to the last caller's return.
// It fills the Result fields the benchmark prints (not the histogram's
// finer percentiles: latencies are exact here).
func bareLoop(ctx context.Context, c load.Client, cfg load.Config) (*load.Result, error) {
	callers := make([]load.Caller, cfg.Concurrency)
	for i := range callers {
		k, err := c.NewCaller(i)
		if err != nil {
			return nil, err
		}
		defer k.Close()
		callers[i] = k
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Duration+10*time.Second)
	defer cancel()
	base := time.Now()
	mStart, end := int64(cfg.Warmup), int64(cfg.Warmup+cfg.Duration)
	samples := make([][]int64, len(callers))
	errs := make([]int64, len(callers))
	var cpu0 int64
	var ms0 runtime.MemStats
	timer := time.AfterFunc(cfg.Warmup, func() { runtime.ReadMemStats(&ms0); cpu0 = cpuTime() })
	var wg sync.WaitGroup
	for i, k := range callers {
		req := make([]byte, cfg.Payload)
		wg.Go(func() {
			for {
				t0 := int64(time.Since(base))
				if t0 >= end || ctx.Err() != nil {
					return
				}
				if err := k.Call(ctx, req); err != nil {
					errs[i]++
					continue
				}
				t1 := int64(time.Since(base))
				if t0 >= mStart {
					samples[i] = append(samples[i], t1-t0)
				}
			}
		})
	}
	wg.Wait()
	timer.Stop()
	cpu := cpuTime() - cpu0
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	res := &load.Result{Options: cfg.Options, Elapsed: cfg.Duration, CPU: time.Duration(cpu),
		Mallocs: ms1.Mallocs - ms0.Mallocs, AllocBytes: ms1.TotalAlloc - ms0.TotalAlloc, GCCycles: ms1.NumGC - ms0.NumGC,
		Hist: hdrhistogram.New(1, int64(time.Minute), 3)}
	for i := range samples {
		res.Ops += int64(len(samples[i]))
		res.Errors += errs[i]
		for _, v := range samples[i] {
			_ = res.Hist.RecordValue(v)
		}
	}
	return res, nil
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
