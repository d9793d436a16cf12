package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flags is the parsed command line.
type flags struct {
	systems     []string
	vs          string
	scenario    load.Scenario
	payload     int
	conns       int
	concurrency int
	duration    time.Duration
	durationSet bool
	warmup      time.Duration
	stampShare  time.Duration
	payloads    []int
	rate        float64
	sweep       bool
	p999        time.Duration
	json        bool
	svg         string
	server      string
	client      string
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	fs := flag.NewFlagSet("psbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{}
	systems := fs.String("systems", strings.Join(registeredNames(), ","), "comma-separated systems to run")
	scenario := fs.String("scenario", string(load.Unary), "unary | pipelined | stream | bidi")
	fs.IntVar(&f.payload, "payload", load.DefaultPayload, "payload `bytes`")
	fs.IntVar(&f.conns, "conns", load.DefaultConns, "client connections")
	fs.IntVar(&f.concurrency, "concurrency", load.DefaultConcurrency, "callers (unary) or messages in flight per stream")
	fs.DurationVar(&f.duration, "duration", 0, "measured time per system (default 9s shared among the systems; 1s per step with -sweep; 2s per system and payload with -payloads)")
	fs.DurationVar(&f.warmup, "warmup", defaultWarmup, "unmeasured warm-up of each system before its first measured second")
	fs.DurationVar(&f.stampShare, "stamp-share-below", 0, "stream closed loop: share one clock reading among up to 32 sends while Sends average at most this (0: load.DefaultSharedStampMaxSend, 1µs; negative: a reading per send; 1h: always share)")
	payloads := fs.String("payloads", "", "sweep these payload `sizes` (16,1K,64K,1M,4M; \"sweep\" for exactly those) with every system")
	fs.Float64Var(&f.rate, "rate", 0, "open loop at this many ops/s (0: closed loop)")
	fs.StringVar(&f.vs, "vs", "", "compare the first system with this one (grpc or raw)")
	fs.BoolVar(&f.sweep, "sweep", false, "find the highest rate whose p99.9 stays under -p999")
	fs.DurationVar(&f.p999, "p999", load.DefaultThreshold, "p99.9 threshold of -sweep")
	fs.BoolVar(&f.json, "json", false, "JSON Lines on stdout, table on stderr")
	fs.StringVar(&f.svg, "svg", "", "write charts to this SVG `file` (and a PNG next to it)")
	fs.StringVar(&f.server, "server", "", "only serve: answer the split handshake on `addr`, each system on a port of its own")
	fs.StringVar(&f.client, "client", "", "only drive the server whose handshake is at `addr` (psbench -server addr)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "duration" {
			f.durationSet = true
		}
	})
	var err error
	if f.scenario, err = load.ParseScenario(*scenario); err != nil {
		return nil, err
	}
	for _, name := range strings.Split(*systems, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if lookup(name) == nil {
			return nil, fmt.Errorf("unknown system %q (registered: %s)", name, strings.Join(registeredNames(), ", "))
		}
		if !slices.Contains(f.systems, name) {
			f.systems = append(f.systems, name)
		}
	}
	if f.vs != "" {
		if lookup(f.vs) == nil {
			return nil, fmt.Errorf("-vs: unknown system %q (registered: %s)", f.vs, strings.Join(registeredNames(), ", "))
		}
		// The first selected (or else registered) system other than -vs,
		// then -vs.
		var primary string
		for _, s := range append(f.systems, registeredNames()...) {
			if s != f.vs {
				primary = s
				break
			}
		}
		if primary == "" {
			return nil, fmt.Errorf("-vs %s: no other system to compare with", f.vs)
		}
		f.systems = []string{primary, f.vs}
	}
	if len(f.systems) == 0 {
		return nil, errors.New("no system selected")
	}
	if f.server != "" && f.client != "" {
		return nil, errors.New("-server and -client are the two halves: give one")
	}
	if f.sweep && f.rate > 0 {
		return nil, errors.New("-sweep chooses the rates itself: drop -rate")
	}
	if f.duration < 0 || f.p999 <= 0 || f.warmup < 0 {
		return nil, errors.New("-duration, -warmup and -p999 must be positive")
	}
	if *payloads != "" {
		if f.payloads, err = parseSizes(*payloads); err != nil {
			return nil, fmt.Errorf("-payloads: %w", err)
		}
		if f.sweep {
			return nil, errors.New("-payloads and -sweep are two sweeps: give one")
		}
		if f.scenario == load.ServerStream {
			return nil, errors.New("-payloads: the stream scenario's server pushes the payload it was started with; sweep unary, pipelined or bidi")
		}
	}
	if !f.durationSet {
		switch {
		case f.sweep:
			f.duration = time.Second
		case f.payloads != nil:
			f.duration = defaultPayloadDuration
		default:
			f.duration = max(2*time.Second, defaultTotal/time.Duration(len(f.systems)))
		}
	}
	return f, nil
}

// Defaults of the command (the library's load.Config defaults are for
// callers that measure one system).
const (
	// defaultTotal is the measured time of a default run, shared among
	// the systems: with the warm-ups and set-up a default run of the three
	// systems takes about 11 s (bench/README says how that was measured).
	defaultTotal = 9 * time.Second
	// defaultWarmup is each system's unmeasured warm-up.
	defaultWarmup = 500 * time.Millisecond
	// defaultPayloadDuration is the measured time per system and payload
	// of -payloads.
	defaultPayloadDuration = 2 * time.Second
	// payloadBudget bounds the bytes in flight of a -payloads step: the
	// callers are cut to payloadBudget / payload (16 at 1 MiB, 4 at
	// 4 MiB) so that a sweep stays within a few hundred MiB of memory.
	payloadBudget = 16 << 20
)

// sweepSizes are the payloads of -payloads sweep (issue 25).
var sweepSizes = []int{16, 1 << 10, 64 << 10, 1 << 20, 4 << 20}

// parseSizes parses "16,1K,64KiB,1M,4MiB" (K and M are binary) or "sweep".
func parseSizes(s string) ([]int, error) {
	if s == "sweep" {
		return slices.Clone(sweepSizes), nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		for _, u := range []struct {
			suffix string
			mult   int
		}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
			if strings.HasSuffix(f, u.suffix) {
				f, mult = strings.TrimSpace(strings.TrimSuffix(f, u.suffix)), u.mult
				break
			}
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > load.MaxPayload/mult {
			return nil, fmt.Errorf("bad size %q (want bytes, or K/M suffixed, at most %d MiB)", f, load.MaxPayload>>20)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// payloadConcurrency is the number of callers of a -payloads step.
func payloadConcurrency(conc, payload int) int {
	return min(conc, max(1, payloadBudget/max(payload, 1)))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "psbench:", err)
		return 2
	}
	opts := load.Options{Scenario: f.scenario, Payload: f.payload, Conns: f.conns, Concurrency: f.concurrency}
	cfg := load.Config{Options: opts, Duration: f.duration, Rate: f.rate, SharedStampMaxSend: f.stampShare}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "psbench:", err)
		return 2
	}
	for _, p := range f.payloads {
		c := cfg
		c.Payload = p
		if err := c.Validate(); err != nil {
			fmt.Fprintln(stderr, "psbench: -payloads:", err)
			return 2
		}
	}
	if f.server != "" {
		return serveOnly(ctx, f, opts, stdout, stderr)
	}

	sessions, err := startSessions(ctx, f, opts)
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	if err != nil {
		fmt.Fprintln(stderr, "psbench:", err)
		return 1
	}

	table := stdout
	if f.json {
		table = stderr
	}
	var recs []report.Record
	var series []report.Series
	switch {
	case f.sweep:
		recs, series, err = sweepAll(ctx, f, cfg, sessions, stderr)
	case f.payloads != nil:
		recs, series, err = payloadSweep(ctx, f, cfg, sessions, stderr)
	default:
		recs, series, err = measureAll(ctx, f, cfg, sessions, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "psbench:", err)
		return 1
	}
	fmt.Fprintln(table)
	if f.payloads != nil {
		err = report.WritePayloadTable(table, recs)
	} else {
		err = report.WriteTable(table, recs)
	}
	if err != nil {
		fmt.Fprintln(stderr, "psbench:", err)
		return 1
	}
	if f.payloads == nil {
		for _, r := range recs[1:] {
			report.WriteRatio(table, recs[0], r)
		}
	}
	writeLegend(table, f, cfg)
	if f.json {
		if err := report.WriteJSON(stdout, recs); err != nil {
			fmt.Fprintln(stderr, "psbench:", err)
			return 1
		}
	}
	if f.svg != "" {
		if err := writeCharts(f.svg, series); err != nil {
			fmt.Fprintln(stderr, "psbench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "charts: %s, %s\n", f.svg, pngName(f.svg))
	}
	if !f.sweep {
		var errs int64
		for _, r := range recs {
			errs += r.Errors
		}
		if errs > 0 {
			fmt.Fprintf(stderr, "psbench: %d operations failed\n", errs)
			return 1
		}
	}
	return 0
}

// session is one system's server (unless -client) and client.
type session struct {
	sys    load.System
	server load.Server
	client load.Client
	addr   string // the server's
}

func (s *session) dial(ctx context.Context, opts load.Options) (load.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := s.sys.Dial(dctx, s.addr, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot reach server at %s: %w", s.sys.Name(), s.addr, err)
	}
	return c, nil
}

func (s *session) close() {
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.server != nil {
		_ = s.server.Close()
	}
}

const dialTimeout = 3 * time.Second

func startSessions(ctx context.Context, f *flags, opts load.Options) ([]*session, error) {
	var out []*session
	var srv *served
	if f.client != "" {
		var err error
		if srv, err = askServer(ctx, f.client); err != nil {
			return nil, err
		}
		if opts.Scenario == load.ServerStream && srv.payload != opts.Payload {
			return nil, fmt.Errorf("server at %s pushes %d-byte payloads and this client asks for %d: start the server with -payload %d",
				f.client, srv.payload, opts.Payload, opts.Payload)
		}
	}
	for _, name := range f.systems {
		s := &session{sys: lookup(name)}
		out = append(out, s)
		addr := ""
		if srv != nil {
			var ok bool
			if addr, ok = srv.systemAddr(f.client, name); !ok {
				return out, fmt.Errorf("server at %s does not serve %s (it serves: %s): start it with -systems %s",
					f.client, name, strings.Join(srv.order, ", "), strings.Join(f.systems, ","))
			}
		} else {
			srv, err := s.sys.Serve(ctx, "127.0.0.1:0", opts)
			if err != nil {
				return out, fmt.Errorf("%s: serve: %w", name, err)
			}
			s.server = srv
			addr = srv.Addr()
		}
		s.addr = addr
		c, err := s.dial(ctx, opts)
		if err != nil {
			return out, err
		}
		s.client = c
	}
	return out, nil
}

func serveOnly(ctx context.Context, f *flags, opts load.Options, stdout, stderr io.Writer) int {
	host, _, err := net.SplitHostPort(f.server)
	if err != nil {
		fmt.Fprintln(stderr, "psbench: -server:", err)
		return 2
	}
	var servers []load.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	var addrs []string
	for _, name := range f.systems {
		srv, err := lookup(name).Serve(ctx, net.JoinHostPort(host, "0"), opts)
		if err != nil {
			fmt.Fprintf(stderr, "psbench: %s: serve: %v\n", name, err)
			return 1
		}
		servers = append(servers, srv)
		addrs = append(addrs, srv.Addr())
		fmt.Fprintf(stdout, "serving %s on %s\n", name, srv.Addr())
	}
	hs, err := startHandshakeServer(ctx, f.server, opts.Payload, f.systems, addrs)
	if err != nil {
		fmt.Fprintln(stderr, "psbench: -server:", err)
		return 1
	}
	defer hs.Close()
	fmt.Fprintf(stdout, "handshake on %s: run psbench -client %s (with -systems any of %s)\n", hs.Addr(), hs.Addr(), strings.Join(f.systems, ","))
	<-ctx.Done()
	return 0
}

// printWarmup says how long a system warms up before its measured seconds.
func printWarmup(w io.Writer, label string, d time.Duration) {
	if d > 0 {
		fmt.Fprintf(w, "%-28s warm-up %v (not measured), then one line per measured second\n", label, d)
	}
}

// progressPrinter prints the live line of one system's run.
func progressPrinter(w io.Writer, label string) func(load.Progress) {
	return func(p load.Progress) {
		fmt.Fprintf(w, "%-28s %5.0fs  rate %9s/s  cpu %4.2f  p99 %9s  p99.9 %9s  errors %d\n", label, p.Elapsed.Seconds(),
			report.FormatRate(p.Rate), p.CPU, report.FormatUs(float64(p.P99)/1e3), report.FormatUs(float64(p.P999)/1e3), p.Errors)
	}
}

// measureAll runs every session for f.duration, in alternating rounds
// when there are several, and merges each system's rounds.
func measureAll(ctx context.Context, f *flags, cfg load.Config, sessions []*session, stderr io.Writer) ([]report.Record, []report.Series, error) {
	rounds := 1
	if len(sessions) > 1 {
		rounds = min(max(int(f.duration/(2*time.Second)), 1), 5)
	}
	results := make([]*load.Result, len(sessions))
	for r := range rounds {
		for i, s := range sessions {
			c := cfg
			c.Duration = f.duration / time.Duration(rounds)
			label := fmt.Sprintf("[%s %s]", s.sys.Name(), cfg.Scenario)
			if rounds > 1 {
				label = fmt.Sprintf("[%s %s %d/%d]", s.sys.Name(), cfg.Scenario, r+1, rounds)
			}
			if r == 0 {
				c.Warmup = f.warmup
				printWarmup(stderr, label, f.warmup)
			}
			c.Progress = progressPrinter(stderr, label)
			res, err := load.Run(ctx, s.client, c)
			if err != nil && !errors.Is(err, load.ErrNoProgress) {
				return nil, nil, fmt.Errorf("%s: %w", s.sys.Name(), err)
			}
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", label, err)
			}
			if results[i] == nil {
				results[i] = res
			} else {
				results[i].Merge(res)
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
		}
	}
	var recs []report.Record
	var series []report.Series
	for i, s := range sessions {
		results[i].System = s.sys.Name()
		rec := report.NewRecord(results[i])
		recs = append(recs, rec)
		series = append(series, report.Series{System: rec.System, Points: []report.Point{report.PointOf(rec)}, Throughput: results[i].Series, Step: load.SeriesStep})
	}
	return recs, series, nil
}

// payloadSweep runs every system at each payload of f.payloads (callers
// cut by payloadConcurrency) on clients dialed for that payload (a system
// may size its buffers at Dial). Within a payload the systems alternate in
// rounds of about a second, so that drift on a shared machine hits them
// alike; each warms up before its first round.
func payloadSweep(ctx context.Context, f *flags, cfg load.Config, sessions []*session, stderr io.Writer) ([]report.Record, []report.Series, error) {
	var recs []report.Record
	var series []report.Series
	rounds := 1
	if len(sessions) > 1 {
		rounds = min(max(int(f.duration/time.Second), 1), 4)
	}
	for _, p := range f.payloads {
		c := cfg
		c.Payload, c.Duration = p, f.duration/time.Duration(rounds)
		c.Concurrency = payloadConcurrency(cfg.Concurrency, p)
		clients := make([]load.Client, len(sessions))
		closeAll := func() {
			for _, cl := range clients {
				if cl != nil {
					_ = cl.Close()
				}
			}
		}
		for i, s := range sessions {
			cl, err := s.dial(ctx, c.Options)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			clients[i] = cl
		}
		results := make([]*load.Result, len(sessions))
		for r := range rounds {
			for i, s := range sessions {
				rc := c
				label := fmt.Sprintf("[%s %s %s x%d]", s.sys.Name(), cfg.Scenario, report.FormatBytes(p), c.Concurrency)
				if rounds > 1 {
					label = fmt.Sprintf("[%s %s %s x%d %d/%d]", s.sys.Name(), cfg.Scenario, report.FormatBytes(p), c.Concurrency, r+1, rounds)
				}
				if r == 0 {
					rc.Warmup = f.warmup
					printWarmup(stderr, label, rc.Warmup)
				}
				rc.Progress = progressPrinter(stderr, label)
				res, err := load.Run(ctx, clients[i], rc)
				if err != nil && !errors.Is(err, load.ErrNoProgress) {
					closeAll()
					return nil, nil, fmt.Errorf("%s at %d bytes: %w", s.sys.Name(), p, err)
				}
				if err != nil {
					fmt.Fprintf(stderr, "%s: %v\n", label, err)
				}
				if results[i] == nil {
					results[i] = res
				} else {
					results[i].Merge(res)
				}
				if ctx.Err() != nil {
					closeAll()
					return nil, nil, ctx.Err()
				}
			}
		}
		closeAll()
		for i, s := range sessions {
			results[i].System = s.sys.Name()
			rec := report.NewRecord(results[i])
			recs = append(recs, rec)
			series = append(series, report.Series{System: fmt.Sprintf("%s %s", rec.System, report.FormatBytes(p)),
				Points: []report.Point{report.PointOf(rec)}, Throughput: results[i].Series, Step: load.SeriesStep})
		}
	}
	return recs, series, nil
}

// Sweep bounds per system.
const (
	sweepProbe  = time.Second
	sweepBudget = 90 * time.Second
	sweepSteps  = 12
)

// sweepAll finds, system after system, the highest offered rate whose
// p99.9 stays under f.p999. A short closed-loop probe sets the first rate
// at 1/32 of the system's closed-loop throughput.
func sweepAll(ctx context.Context, f *flags, cfg load.Config, sessions []*session, stderr io.Writer) ([]report.Record, []report.Series, error) {
	if cfg.Scenario == load.ServerStream {
		return nil, nil, errors.New("-sweep: the stream scenario is paced by the server; choose unary, pipelined or bidi")
	}
	var recs []report.Record
	var series []report.Series
	for _, s := range sessions {
		name := s.sys.Name()
		pc := cfg
		pc.Duration, pc.Warmup, pc.Rate = sweepProbe, sweepProbe/4, 0
		probe, err := load.Run(ctx, s.client, pc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: closed-loop probe: %w", name, err)
		}
		start := roundRate(math.Max(100, probe.Throughput()/32))
		fmt.Fprintf(stderr, "[%s sweep] closed loop %s/s; stepping up from %s/s, %v per step\n", name,
			report.FormatRate(probe.Throughput()), report.FormatRate(start), f.duration)
		var thr []float64
		sc := load.SweepConfig{Threshold: f.p999, Start: start, MaxSteps: sweepSteps, Budget: sweepBudget}
		sr, err := load.Sweep(ctx, sc, func(ctx context.Context, rate float64) (*load.Result, error) {
			c := cfg
			c.Rate, c.Duration = rate, f.duration
			res, err := load.Run(ctx, s.client, c)
			if res != nil {
				thr = append(thr, res.Series...)
				fmt.Fprintf(stderr, "[%s sweep] offered %9s/s  got %9s/s  p99 %9s  p99.9 %9s  errors %d\n", name,
					report.FormatRate(rate), report.FormatRate(res.Throughput()), report.FormatUs(float64(res.Percentile(99))/1e3),
					report.FormatUs(float64(res.Percentile(99.9))/1e3), res.Errors)
			}
			return res, err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		rec := report.NewSweepRecord(name, f.p999, sr)
		recs = append(recs, rec)
		var pts []report.Point
		for _, st := range sr.Steps {
			if st.Result != nil {
				r := report.NewRecord(st.Result)
				pts = append(pts, report.PointOf(r))
			}
		}
		slices.SortFunc(pts, func(a, b report.Point) int { return int(math.Copysign(1, a.OfferedRPS-b.OfferedRPS)) })
		series = append(series, report.Series{System: name, Points: pts, Throughput: thr, Step: load.SeriesStep,
			ThresholdUs: float64(f.p999) / 1e3})
	}
	return recs, series, nil
}

// roundRate keeps two significant digits.
func roundRate(v float64) float64 {
	if v <= 0 {
		return v
	}
	p := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Round(v/p) * p
}

func pngName(svg string) string { return strings.TrimSuffix(svg, ".svg") + ".png" }

func writeCharts(path string, series []report.Series) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer, []report.Series) error
	}{{path, report.WriteSVG}, {pngName(path), report.WritePNG}} {
		fh, err := os.Create(out.path)
		if err != nil {
			return err
		}
		err = out.write(fh, series)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
