package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoProgress is returned by Run when a run completed no operation at
// all and every attempt failed; the Result still carries the counts.
var ErrNoProgress = errors.New("load: no operation completed")

// Run drives c with the load cfg describes (after EnsureDefaults and
// Validate) and returns the measured Result. It returns once the window,
// and the grace period for operations still in flight, are over, or ctx
// ends; it leaves no goroutine behind. Errors of single operations are
// counted in the Result, not returned; the returned error is a bad Config,
// a failure to create callers or streams, or ErrNoProgress.
func Run(ctx context.Context, c Client, cfg Config) (*Result, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.clock == nil {
		cfg.clock = newRealClock()
	}
	bufs := sendBuffers(cfg)
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration, w.Progress = cfg.Warmup, nil
		if _, err := runPhase(ctx, c, w, bufs); err != nil && !errors.Is(err, ErrNoProgress) {
			return nil, err
		}
	}
	return runPhase(ctx, c, cfg, bufs)
}

// workers is the number of goroutines that send: one per caller (Unary)
// or one per stream.
func (cfg *Config) workers() int {
	if cfg.Scenario == Unary {
		return cfg.Concurrency
	}
	return cfg.Conns
}

// sendBuffers makes the request buffer of every worker (none for
// ServerStream, which only receives). They are the load loop's, not the
// system's: made once, before the warm-up and the measured window, and
// reused by both, so that allocs/op and B/op count only what the system
// under test allocates (a 4 MiB payload per worker made inside the window
// was charged to the system before).
func sendBuffers(cfg Config) [][]byte {
	if cfg.Scenario == ServerStream {
		return nil
	}
	bufs := make([][]byte, cfg.workers())
	for i := range bufs {
		bufs[i] = make([]byte, cfg.Payload)
	}
	return bufs
}

// run is the shared state of one phase.
type run struct {
	cfg      Config
	clk      clock
	start    int64
	deadline int64
	shards   []shard
	// busy counts open-loop operations handed to workers and not yet
	// recorded (see clock.WaitUntil).
	busy atomic.Int64
}

func (r *run) shard(i int) *shard { return &r.shards[i%len(r.shards)] }

// schedule returns the scheduled send time of the k-th operation of
// worker w out of n workers sharing the offered rate.
func (r *run) schedule(w, n, k int) int64 {
	return r.start + int64(float64(w+k*n)*1e9/r.cfg.Rate)
}

// runPhase runs one window (the warm-up or the measured one); bufs are the
// workers' request buffers (sendBuffers). Everything the load loop needs
// is made before the window opens (readUsage): inside it the loop itself
// allocates a constant handful (goroutines, the grace timer, the series),
// nothing per operation (TestLoadLoopAllocatesNothingPerOp).
func runPhase(ctx context.Context, c Client, cfg Config, bufs [][]byte) (*Result, error) {
	nshards := min(cfg.workers(), 8)
	r := &run{cfg: cfg, clk: cfg.clock, shards: make([]shard, nshards)}
	for i := range r.shards {
		r.shards[i].h = newHist()
	}

	// Create callers or streams before the window opens.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var callers []Caller
	var streams []Stream
	defer func() {
		for _, cl := range callers {
			_ = cl.Close()
		}
		for _, s := range streams {
			_ = s.Close()
		}
	}()
	if cfg.Scenario == Unary {
		for i := range cfg.Concurrency {
			cl, err := c.NewCaller(i)
			if err != nil {
				return nil, fmt.Errorf("load: new caller: %w", err)
			}
			callers = append(callers, cl)
		}
	} else {
		for i := range cfg.Conns {
			s, err := c.OpenStream(ctx, i)
			if err != nil {
				return nil, fmt.Errorf("load: open stream: %w", err)
			}
			streams = append(streams, s)
		}
	}

	before := readUsage()
	r.start = r.clk.Now()
	r.deadline = r.start + int64(cfg.Duration)
	// Operations still in flight after the grace period are canceled.
	graceCtx, graceCancel := context.WithTimeout(ctx, cfg.Duration+cfg.Grace)
	defer graceCancel()

	stopTicker := r.startTicker()
	var wg sync.WaitGroup
	switch cfg.Scenario {
	case Unary:
		var due chan int64
		if cfg.Rate > 0 {
			due = make(chan int64, len(callers))
			wg.Go(func() { r.pace(graceCtx, due) })
		}
		for w, cl := range callers {
			if due != nil {
				wg.Go(func() { r.pacedWorker(graceCtx, w, cl, bufs[w], due) })
			} else {
				wg.Go(func() { r.unaryWorker(graceCtx, w, cl, bufs[w]) })
			}
		}
	default:
		for i, s := range streams {
			var buf []byte
			if bufs != nil {
				buf = bufs[i]
			}
			wg.Go(func() { r.streamWorker(graceCtx, i, s, buf) })
		}
	}
	wg.Wait()
	// The window lasts at least its duration, even when the last
	// scheduled operation finished early.
	end := max(r.clk.Now(), r.deadline)
	series, seconds, secondsCPU, secondsWait := stopTicker()
	after := readUsage()

	res := &Result{
		Options:     cfg.Options,
		Rate:        cfg.Rate,
		Elapsed:     time.Duration(end - r.start),
		Hist:        newHist(),
		Mallocs:     after.mallocs - before.mallocs,
		AllocBytes:  after.bytes - before.bytes,
		GCCycles:    after.gc - before.gc,
		CPU:         after.cpu - before.cpu,
		Series:      series,
		Seconds:     seconds,
		SecondsCPU:  secondsCPU,
		SecondsWait: secondsWait,
	}
	for i := range r.shards {
		s := &r.shards[i]
		res.Hist.Merge(s.h)
		res.Ops += s.ops
		res.Errors += s.errs
		if res.FirstError == nil {
			res.FirstError = s.firstErr
		}
	}
	if res.Ops == 0 && res.Errors > 0 {
		return res, fmt.Errorf("%w: %d errors, first: %v", ErrNoProgress, res.Errors, res.FirstError)
	}
	return res, nil
}

// unaryWorker is one caller of a closed loop: send, wait, repeat.
func (r *run) unaryWorker(ctx context.Context, w int, cl Caller, req []byte) {
	sh := r.shard(w)
	for ctx.Err() == nil {
		sched := r.clk.Now()
		if sched >= r.deadline {
			return
		}
		err := cl.Call(ctx, req)
		sh.record(r.clk.Now()-sched, err)
	}
}

// pace is the open loop's only timekeeper: one goroutine for the whole
// run that waits for the next scheduled send time, hands every send due by
// then to an idle worker through due (the scheduled time itself, from
// which the worker measures latency), and closes due at the end of the
// window. Workers block on due, never on timers: with tens of callers on
// a few cores, per-worker sleeps wake late and that lateness would be
// charged to the system under test. When every worker is busy and due is
// full, the sends queue here and still count from their scheduled times.
func (r *run) pace(ctx context.Context, due chan<- int64) {
	defer close(due)
	interval := 1e9 / r.cfg.Rate
	for j := 0; ; j++ {
		sched := r.start + int64(float64(j)*interval)
		if sched >= r.deadline {
			return
		}
		if r.clk.Now() < sched {
			r.clk.WaitUntil(sched, &r.busy)
		}
		r.busy.Add(1)
		select {
		case due <- sched:
		case <-ctx.Done():
			r.busy.Add(-1)
			return
		}
	}
}

// pacedWorker is one caller of an open loop: it performs the sends pace
// hands it, latency measured from their scheduled times.
func (r *run) pacedWorker(ctx context.Context, w int, cl Caller, req []byte, due <-chan int64) {
	sh := r.shard(w)
	for sched := range due {
		if ctx.Err() == nil { // past the grace period: drain without sending
			err := cl.Call(ctx, req)
			sh.record(r.clk.Now()-sched, err)
		}
		r.busy.Add(-1)
	}
}

// streamWorker drives one stream: a receiving goroutine records the
// latency of every message from the stamp it carries, while this one sends
// (except for ServerStream) with at most Concurrency messages in flight.
func (r *run) streamWorker(ctx context.Context, i int, s Stream, buf []byte) {
	sh := r.shard(i)
	window := make(chan struct{}, r.cfg.Concurrency)
	var closing atomic.Bool
	// At the end of the grace period a blocked Send or Recv is released
	// by closing the stream; what is still unanswered is counted below.
	stopAfter := context.AfterFunc(ctx, func() {
		closing.Store(true)
		_ = s.Close()
	})
	defer stopAfter()
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		wall := r.cfg.Scenario == ServerStream
		for {
			p, err := s.Recv()
			if err != nil {
				if !closing.Load() {
					sh.record(0, err)
				}
				return
			}
			var lat int64
			if wall {
				lat = time.Now().UnixNano() - Stamp(p)
			} else {
				lat = r.clk.Now() - Stamp(p)
			}
			sh.record(lat, nil)
			if wall {
				if r.clk.Now() >= r.deadline {
					return
				}
				continue
			}
			select {
			case <-window:
			default: // more replies than requests: the peer misbehaves
				sh.record(0, errors.New("load: reply without a request"))
				return
			}
		}
	}()

	if r.cfg.Scenario != ServerStream {
		r.sendLoop(ctx, i, s, buf, sh, window, recvDone, &closing)
		// Wait for the replies still in flight, within the grace period.
		drain := time.NewTicker(time.Millisecond)
	wait:
		for len(window) > 0 {
			select {
			case <-drain.C:
			case <-recvDone:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		if n := len(window); n > 0 {
			sh.record(0, fmt.Errorf("load: %d messages unanswered at the end of the grace period", n))
		}
		drain.Stop()
	} else {
		select {
		case <-recvDone:
		case <-ctx.Done():
		}
	}
	closing.Store(true)
	_ = s.Close()
	<-recvDone
}

func (r *run) sendLoop(ctx context.Context, i int, s Stream, buf []byte, sh *shard, window chan struct{}, recvDone <-chan struct{}, closing *atomic.Bool) {
	n := r.cfg.Conns
	fail := func(err error) {
		if !closing.Load() {
			sh.record(0, err)
		}
	}
	defer func() {
		if err := s.Flush(); err != nil {
			fail(err)
		}
	}()
	closed := r.cfg.Rate == 0
	st := newSendStamper(r.clk, r.deadline, r.cfg.SharedStampMaxSend) // closed loop
	// Open loop: when the oldest message not yet flushed was sent (-1:
	// none), so that a loop behind schedule, which does not sleep, still
	// flushes every maxHold (openLoopMaxHold).
	held, maxHold := int64(-1), openLoopMaxHold(r.cfg.OpenLoopMaxHold)
	var sent int64 // open loop: about when this message is sent (at most a wait early)
	for k := 0; ; k++ {
		var sched int64
		if !closed {
			sched = r.schedule(i, n, k)
			if sched >= r.deadline {
				return
			}
			now := r.clk.Now()
			if now < sched || held >= 0 && now-held >= maxHold {
				if err := s.Flush(); err != nil {
					fail(err)
					return
				}
				held = -1
			}
			if now < sched {
				r.clk.SleepUntil(sched)
			}
			sent = max(now, sched)
		} else {
			var ok bool
			if sched, ok = st.next(); !ok {
				return
			}
		}
		select {
		case window <- struct{}{}:
		default:
			if closed {
				st.beforeWait()
			}
			if err := s.Flush(); err != nil {
				fail(err)
				return
			}
			held = -1
			select {
			case window <- struct{}{}:
			case <-recvDone:
				return
			case <-ctx.Done():
				return
			}
			if closed { // waited: the stamp is stale
				if !st.afterWait() {
					<-window
					return
				}
				sched, _ = st.next()
			}
		}
		PutStamp(buf, sched)
		if !closed && held < 0 {
			held = sent
		}
		if err := s.Send(buf); err != nil {
			<-window
			fail(err)
			return
		}
	}
}

// SeriesStep is the interval of Result.Series.
const SeriesStep = 250 * time.Millisecond

// progressEvery is the number of SeriesSteps between Progress calls.
const progressEvery = int(time.Second / SeriesStep)

// startTicker starts the sampler (throughput series every SeriesStep, the
// rate of every second,
// Config.Progress every second) and returns the function that stops it
// and returns the series (and the CPU per wall second of every second).
func (r *run) startTicker() func() (series, seconds, secondsCPU, secondsWait []float64) {
	type out struct{ series, seconds, cpu, wait []float64 }
	stop := make(chan struct{})
	done := make(chan out, 1)
	go func() {
		var series, seconds, secCPU, secWait []float64
		t := time.NewTicker(SeriesStep)
		lastCPU := processCPU()
		lastWait, waitKnown := runQueueWait()
		defer t.Stop()
		snap := newHist()
		var lastOps, lastSecOps int64
		last := time.Now()
		begin, lastSec := last, last
		for tick := 1; ; tick++ {
			var now time.Time
			final := false
			select {
			case <-stop:
				// The window's last tick often races with its end: take
				// the last step if at least half of it ran, and report
				// the last second if at least half of it ran, so a 3 s
				// window shows three progress lines.
				now, final = time.Now(), true
				if now.Sub(last) < SeriesStep/2 && now.Sub(lastSec) < time.Second/2 {
					done <- out{series, seconds, secCPU, secWait}
					return
				}
			case now = <-t.C:
			}
			second := tick%progressEvery == 0 || final && now.Sub(lastSec) >= time.Second/2
			report := r.cfg.Progress != nil && second
			snap.Reset()
			var ops, errs int64
			for i := range r.shards {
				s := &r.shards[i]
				s.mu.Lock()
				ops += s.ops
				errs += s.errs
				if report {
					snap.Merge(s.h)
				}
				s.mu.Unlock()
			}
			if !final || now.Sub(last) >= SeriesStep/2 {
				series = append(series, float64(ops-lastOps)/now.Sub(last).Seconds())
			}
			lastOps, last = ops, now
			if second {
				rate := float64(ops-lastSecOps) / now.Sub(lastSec).Seconds()
				seconds = append(seconds, rate)
				cpuNow := processCPU()
				cpu := (cpuNow - lastCPU).Seconds() / now.Sub(lastSec).Seconds()
				secCPU = append(secCPU, cpu)
				lastCPU = cpuNow
				if waitKnown {
					var waitNow time.Duration
					if waitNow, waitKnown = runQueueWait(); waitKnown {
						// A thread that exited took its count along: never below 0.
						secWait = append(secWait, max(0, (waitNow-lastWait).Seconds()/now.Sub(lastSec).Seconds()))
						lastWait = waitNow
					} else {
						secWait = nil
					}
				}
				if report {
					r.cfg.Progress(Progress{
						Elapsed: now.Sub(begin),
						Ops:     ops,
						Errors:  errs,
						Rate:    rate,
						CPU:     cpu,
						P99:     time.Duration(snap.ValueAtQuantile(99)),
						P999:    time.Duration(snap.ValueAtQuantile(99.9)),
					})
				}
				lastSecOps, lastSec = ops, now
			}
			if final {
				done <- out{series, seconds, secCPU, secWait}
				return
			}
		}
	}()
	return func() ([]float64, []float64, []float64, []float64) {
		close(stop)
		o := <-done
		return o.series, o.seconds, o.cpu, o.wait
	}
}
