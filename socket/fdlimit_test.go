//go:build unix

package socket_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// fdLimitChildEnv marks the child process of TestAcceptFailsAtFDLimit.
const fdLimitChildEnv = "PS_FDLIMIT_CHILD"

// acceptErrLog is a slog.Handler that keeps the "err" attribute of every
// warning the server logs (Serve logs each failed Accept at Warn level) and
// counts those matching EMFILE.
type acceptErrLog struct {
	mu     sync.Mutex
	errs   []error
	emfile int
	notify chan struct{} // signalled after each EMFILE
}

func newAcceptErrLog() *acceptErrLog { return &acceptErrLog{notify: make(chan struct{}, 1)} }

func (h *acceptErrLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *acceptErrLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			if errors.Is(err, syscall.EMFILE) {
				h.emfile++
			}
			h.mu.Unlock()
			select {
			case h.notify <- struct{}{}:
			default:
			}
		}
		return true
	})
	return nil
}

func (h *acceptErrLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *acceptErrLog) WithGroup(string) slog.Handler      { return h }

func (h *acceptErrLog) snapshot() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

func (h *acceptErrLog) emfiles() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.emfile
}

// TestAcceptFailsAtFDLimit runs a server under a low RLIMIT_NOFILE in a
// child process (the lowered limit never touches this one): clients are
// dialed until the server's Accept fails with EMFILE, then a few clients
// close and the server must recover: the connection that was waiting in
// the backlog is served, a fresh client gets an echo, and the older
// connections that stayed open still work.
func TestAcceptFailsAtFDLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts open descriptors in /proc/self/fd (Linux only)")
	}
	if os.Getenv(fdLimitChildEnv) != "" {
		fdLimitChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAcceptFailsAtFDLimit$", "-test.count=1", "-test.v", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), fdLimitChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child failed:\n%s", out)
	m := regexp.MustCompile(`FDLIMIT_CHILD_OK limit=(\d+) clients=(\d+) accept_errors=(\d+)`).FindSubmatch(out)
	require.NotNil(t, m, "no success marker in the child's output:\n%s", out)
	n, err := strconv.Atoi(string(m[3]))
	require.NoError(t, err)
	assert.Positive(t, n, "the child saw Accept fail")
	t.Logf("child: limit %s descriptors, %s clients, %s failed accepts logged", m[1], m[2], m[3])
}

// fdLimitChild is the child's side of TestAcceptFailsAtFDLimit.
func fdLimitChild(t *testing.T) {
	const deadline = 10 * time.Second
	logs := newAcceptErrLog()
	opts := socket.Options{Logger: slog.New(logs)}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", opts)
	require.NoError(t, err)
	served := make(chan error, 1)
	// The factory runs in the accept loop, before its next Accept: an
	// address seen here was accepted before any later accept error.
	accepted := make(chan string, 256)
	go func() {
		served <- socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			accepted <- c.RemoteAddr().String()
			return echo(c)
		}, opts)
	}()
	defer func() {
		cancel()
		select {
		case err := <-served:
			assert.NoError(t, err)
		case <-time.After(deadline):
			t.Error("Serve did not return")
		}
	}()

	type client struct {
		c   *socket.Conn
		col *collector
	}
	var clients []client
	defer func() {
		for _, cl := range clients {
			_ = cl.c.Close()
		}
	}()
	dial := func() (client, error) {
		col := newCollector(4)
		c, err := socket.Dial(context.Background(), "tcp", ln.Addr().String(), col, socket.Options{})
		return client{c, col}, err
	}
	send := func(cl client, msg string) {
		s := cl.c.NewSender(nil)
		defer s.Close()
		require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte(msg)))
	}

	// Spare descriptors: if a Dial (not the server's Accept) is the one to
	// hit the limit, one is closed so that the next Dial fits and the
	// server's Accept for it does not.
	var spare []*os.File
	for range 4 {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		spare = append(spare, f)
	}
	defer func() {
		for _, f := range spare {
			_ = f.Close()
		}
	}()

	var orig syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig))
	open, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	limit := uint64(len(open) + 16) // room for about eight accepted clients
	require.Less(t, limit, orig.Cur, "the limit must be lowered")
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: orig.Max}))

	// Dial until the server cannot accept. Linux's accept4 takes a
	// descriptor before it looks at the backlog, so Accept fails with
	// EMFILE as soon as the last descriptor is used, pending connection or
	// not. A client is left waiting in the backlog when an Accept that
	// began after its Dial returned (the second EMFILE logged since then)
	// failed and the server had not accepted it before.
	seen := map[string]bool{}
	drain := func() {
		for {
			select {
			case a := <-accepted:
				seen[a] = true
			default:
				return
			}
		}
	}
	var pending client
	stop := time.Now().Add(30 * time.Second)
	for pending.c == nil {
		require.True(t, time.Now().Before(stop), "Accept never failed; %d clients", len(clients))
		require.Less(t, len(clients), int(limit), "more clients than descriptors")
		cl, err := dial()
		if err != nil {
			require.ErrorIs(t, err, syscall.EMFILE, "a Dial may only fail for want of a descriptor")
			require.NotEmpty(t, spare, "the client side keeps hitting the limit first")
			require.NoError(t, spare[len(spare)-1].Close())
			spare = spare[:len(spare)-1]
			continue
		}
		n0 := logs.emfiles()
		me := cl.c.LocalAddr().String()
		timeout := time.After(deadline)
		for pending.c == nil && !seen[me] {
			if logs.emfiles() >= n0+2 {
				drain()
				if !seen[me] {
					pending = cl
				}
				break
			}
			select {
			case a := <-accepted:
				seen[a] = true
			case <-logs.notify:
			case <-timeout:
				t.Fatalf("client %d: neither accepted nor refused", len(clients))
			}
		}
		send(cl, "hello")
		if pending.c == nil {
			assert.Equal(t, "hello", string(cl.col.next(t)))
			clients = append(clients, cl)
		}
	}
	require.GreaterOrEqual(t, len(clients), 3, "too few clients accepted before the limit")
	errs := logs.snapshot()
	require.NotEmpty(t, errs)
	for _, err := range errs {
		assert.ErrorIs(t, err, syscall.EMFILE, "every accept failure is the descriptor limit")
	}

	// While Accept keeps failing the accepted connections are served.
	for i, cl := range clients {
		msg := fmt.Sprintf("during %d", i)
		send(cl, msg)
		assert.Equal(t, msg, string(cl.col.next(t)), "client %d while Accept fails", i)
	}
	select {
	case got := <-pending.col.ch:
		t.Fatalf("the waiting client was answered (%q) with no descriptor free", got)
	default:
	}

	// The server keeps retrying; with three clients closed (six
	// descriptors back once the server sees them go) it recovers.
	closed := clients[:3]
	clients = clients[3:]
	for _, cl := range closed {
		require.NoError(t, cl.c.Close())
	}
	select {
	case got := <-pending.col.ch:
		assert.Equal(t, "hello", string(got), "the connection left in the backlog is served")
	case <-time.After(deadline):
		t.Fatal("the server did not accept the waiting connection after descriptors were freed")
	}
	clients = append(clients, pending)
	fresh, err := dial()
	require.NoError(t, err)
	clients = append(clients, fresh)
	send(fresh, "fresh")
	assert.Equal(t, "fresh", string(fresh.col.next(t)), "a new client is served")
	for i, cl := range clients {
		msg := fmt.Sprintf("still here %d", i)
		send(cl, msg)
		assert.Equal(t, msg, string(cl.col.next(t)), "client %d", i)
	}
	if !t.Failed() {
		fmt.Printf("FDLIMIT_CHILD_OK limit=%d clients=%d accept_errors=%d\n", limit, len(clients)+len(closed), len(logs.snapshot()))
	}
}
