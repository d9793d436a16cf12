// Command cache is the typed-services example (docs/guide.md): an
// in-memory cache whose RPCs are declared in cachepb/cache.schema and
// whose server and client stubs codecgen generated. Run without arguments
// it starts a server on loopback, sets, gets, watches and deletes keys
// and runs a short load through a connection pool, prints what it did and
// exits:
//
//	go run ./examples/cache
//
// As a server and CLI client:
//
//	go run ./examples/cache serve -addr 127.0.0.1:7070
//	go run ./examples/cache -addr 127.0.0.1:7070 set greeting hello -ttl 30s
//	go run ./examples/cache -addr 127.0.0.1:7070 get greeting
//	go run ./examples/cache -addr 127.0.0.1:7070 del greeting
//	go run ./examples/cache -addr 127.0.0.1:7070 watch greet
//	go run ./examples/cache -addr 127.0.0.1:7070 load -n 100000 -c 8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/examples/cache/cacheserver"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

// MaxFrameSize is the largest frame either side reads or writes: a value
// is at most cacheserver.DefaultMaxValue (1 MiB) plus its key and framing.
const MaxFrameSize = 2 << 20

// ServerOptions are the production options of the cache server.
func ServerOptions() rpc.ServerOptions {
	return rpc.ServerOptions{
		Socket: socket.Options{
			MaxFrameSize: MaxFrameSize,    // on both sides: a peer cannot announce more
			IdleTimeout:  2 * time.Minute, // a silent peer is closed (pools ping every few seconds)
		},
		ReuseContexts: true, // handlers do not keep ctx: no allocation per call
	}
}

// PoolOptions are the production options of a client pool.
func PoolOptions() balance.Options {
	return balance.Options{
		ConnsPerAddr: 2,
		Client:       rpc.ClientOptions{Socket: socket.Options{MaxFrameSize: MaxFrameSize}},
	}
}

// Serve serves st on ln until ctx ends, then drains (in-flight calls
// finish, watches end) for up to five seconds.
func Serve(ctx context.Context, ln net.Listener, st *cacheserver.Store) error {
	srv, err := rpc.NewServer(ServerOptions())
	if err != nil {
		return err
	}
	cacheserver.Register(srv, st)
	done := make(chan struct{})
	go func() { // janitor: expired keys are removed (and watchers told) every second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				st.Expire()
			}
		}
	}()
	go func() {
		<-ctx.Done()
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Drain(dctx)
	}()
	err = srv.Serve(context.Background(), ln)
	close(done)
	return err
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cache:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address (empty: run the demo on loopback)")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "serve" {
		if *addr == "" {
			*addr = "127.0.0.1:7070"
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		fmt.Fprintln(w, "serving on", ln.Addr())
		return Serve(ctx, ln, cacheserver.New(cacheserver.Options{}))
	}
	if *addr == "" {
		return demo(ctx, w)
	}
	p, err := balance.New(ctx, balance.Static{*addr}, PoolOptions())
	if err != nil {
		return err
	}
	defer p.Close()
	rctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := p.WaitReady(rctx); err != nil { // the pool dials in the background
		return err
	}
	return command(ctx, p, rest, *timeout, w)
}

// command runs one CLI command on the pool.
func command(ctx context.Context, p *balance.Pool, args []string, timeout time.Duration, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a command: get KEY | set KEY VALUE [-ttl D] | del KEY | watch PREFIX [-for D] | load [-n N] [-c C]")
	}
	c := cachepb.NewCachePoolClient(p)
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout) }
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	ttl := fs.Duration("ttl", 0, "set: time to live (0: forever)")
	watchFor := fs.Duration("for", 0, "watch: stop after this long (0: until interrupted)")
	n := fs.Int("n", 10000, "load: calls")
	conc := fs.Int("c", 4, "load: concurrent callers")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := func(k int) error {
		if len(pos) != k {
			return fmt.Errorf("%s wants %d argument(s), got %d", args[0], k, len(pos))
		}
		return nil
	}
	switch args[0] {
	case "get":
		if err := need(1); err != nil {
			return err
		}
		cctx, cancel := call()
		defer cancel()
		r, err := c.Get(cctx, c.BeginGet().SetKey(pos[0]))
		if err != nil {
			return err
		}
		if !r.Found() {
			fmt.Fprintf(w, "%s: not found\n", pos[0])
			return nil
		}
		ttl := "none"
		if r.TtlMs() > 0 {
			ttl = (time.Duration(r.TtlMs()) * time.Millisecond).Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s = %q (ttl %s)\n", pos[0], r.Value(), ttl)
	case "set":
		if err := need(2); err != nil {
			return err
		}
		cctx, cancel := call()
		defer cancel()
		r, err := c.Set(cctx, c.BeginSet().SetKey(pos[0]).SetValue([]byte(pos[1])).SetTtlMs(uint32(ttl.Milliseconds())))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "set %s (replaced: %v)\n", pos[0], r.Replaced())
	case "del":
		if err := need(1); err != nil {
			return err
		}
		cctx, cancel := call()
		defer cancel()
		r, err := c.Delete(cctx, c.BeginDelete().SetKey(pos[0]))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "del %s (deleted: %v)\n", pos[0], r.Deleted())
	case "watch":
		if err := need(1); err != nil {
			return err
		}
		wctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		if *watchFor > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(wctx, *watchFor)
			defer cancel()
		}
		return watch(wctx, c, pos[0], -1, w)
	case "load":
		return load(ctx, p, *n, *conc, timeout, w)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

// parseInterleaved parses flags that may follow positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// watch prints the events of the keys under prefix until ctx ends (nil)
// or max events arrived (max < 0: no limit).
func watch(ctx context.Context, c *cachepb.CacheClient, prefix string, max int, w io.Writer) error {
	st, err := c.Watch(ctx, c.BeginWatch().SetPrefix(prefix))
	if err != nil {
		if ctx.Err() != nil {
			return nil // -for ran out (or ^C) before the watch opened: nothing to print
		}
		return err
	}
	defer st.Close()
	for i := 0; max < 0 || i < max; i++ {
		ev, err := st.Recv()
		if err != nil {
			// The -for deadline travels with the stream: the server's
			// timer may end it (DeadlineExceeded) before ctx's fires here.
			if errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		fmt.Fprintf(w, "watch %s: %s %s %q\n", prefix, ev.Kind(), ev.Key(), ev.Value())
	}
	return nil
}

// load runs n Gets from conc goroutines, each with its own CacheClient.
func load(ctx context.Context, p *balance.Pool, n, conc int, timeout time.Duration, w io.Writer) error {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, conc)
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cachepb.NewCachePoolClient(p) // one per goroutine: calls reuse its buffers
			for i := g; i < n; i += conc {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				_, err := c.Get(cctx, c.BeginGet().SetKey("load"))
				cancel()
				if err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(w, "load: %d gets from %d callers in %v\n", n, conc, el.Round(time.Millisecond))
	return nil
}

// demo runs a server on loopback and exercises every method.
func demo(ctx context.Context, w io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	store := cacheserver.New(cacheserver.Options{})
	go func() { served <- Serve(sctx, ln, store) }()
	fmt.Fprintln(w, "server on loopback")

	p, err := balance.New(ctx, balance.Static{ln.Addr().String()}, PoolOptions())
	if err != nil {
		stop()
		return err
	}
	err = demoCalls(ctx, p, store, w)
	_ = p.Close()
	stop()
	if serr := <-served; err == nil && serr != nil && !errors.Is(serr, rpc.ErrClosed) {
		err = serr
	}
	if err == nil {
		fmt.Fprintln(w, "server drained; bye")
	}
	return err
}

func demoCalls(ctx context.Context, p *balance.Pool, store *cacheserver.Store, w io.Writer) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.WaitReady(rctx); err != nil {
		return err
	}
	// A watch on "user:" in the background, for the three events below.
	wc := cachepb.NewCachePoolClient(p) // a client per goroutine
	var wbuf syncWriter
	watched := make(chan error, 1)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	st, err := wc.Watch(wctx, wc.BeginWatch().SetPrefix("user:"))
	if err != nil {
		return err
	}
	go func() {
		defer st.Close()
		for range 3 {
			ev, err := st.Recv()
			if err != nil {
				watched <- err
				return
			}
			fmt.Fprintf(&wbuf, "  watch: %s %s %q\n", ev.Kind(), ev.Key(), ev.Value())
		}
		watched <- nil
	}()
	for store.Watchers() == 0 && wctx.Err() == nil { // the watch is registered before the first set
		time.Sleep(time.Millisecond)
	}

	steps := [][]string{
		{"set", "user:1", "ada", "-ttl", "1m"},
		{"get", "user:1"},
		{"set", "user:2", "grace"},
		{"get", "user:3"},
		{"del", "user:1"},
		{"get", "user:1"},
		{"load", "-n", "2000", "-c", "4"},
	}
	for _, s := range steps {
		fmt.Fprintf(w, "$ cache %s\n", join(s))
		if err := command(ctx, p, s, 2*time.Second, w); err != nil {
			return err
		}
	}
	if err := <-watched; err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	fmt.Fprint(w, "the watch on \"user:\" saw:\n", wbuf.String())
	return nil
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// syncWriter is a strings.Builder safe for one writer and a later reader.
type syncWriter struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
