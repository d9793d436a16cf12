package socket_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"

	"github.com/protosocket-go/protosocket/socket"
)

// idleMoveDelay shortens the wait after which a reader whose stack grew
// moves to a fresh goroutine (see socket's readFrames), so the measurement
// need not wait long for every reader to have moved.
const idleMoveDelay = 10 * time.Millisecond

// idleGOMAXPROCS is the measuring processes' GOMAXPROCS, the same on
// every machine: the runtime's per-P caches are a cost per process, not
// per Conn, yet spread over 1000 Conns they showed as up to 200 bytes
// more per Conn with GOMAXPROCS 8 to 32 than with 2 (3999 bytes against
// the 4096 bound once, with 8), so a machine with many cores would have
// failed a figure this one measures well under the bound.
const idleGOMAXPROCS = "GOMAXPROCS=2"

// goMemory returns the Go memory in use (heap plus goroutine stacks) after
// a few collections: each may halve a parked goroutine's stack (down to
// the 2 KiB minimum) when it uses under a quarter of it, and with the
// runtime's adaptive initial stack size new goroutines can start at 4 or
// 8 KiB, so collect until that settles.
func goMemory() uint64 {
	for range 4 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// settledMemory measures until the figure stops falling: readers move once
// their move timer fires, after which collections shrink nothing more.
// It stops after three measurements in a row found nothing lower (one
// could come before the last readers moved on a loaded machine, whose
// timers and goroutines run late) and returns the lowest.
func settledMemory() uint64 {
	m := goMemory()
	for flat := 0; flat < 3; {
		time.Sleep(5 * idleMoveDelay)
		if next := goMemory(); next < m {
			m, flat = next, 0
		} else {
			flat++
		}
	}
	return m
}

// idleBytesPerConn opens n connections from this process (the clients) to
// an echo server in a child process and returns the Go memory (heap plus
// goroutine stacks) each side adds per idle Conn. With traffic each
// connection first carries one message there and back (a Sender's send,
// the server's Reply), so the figures include what a connection keeps
// after use.
func idleBytesPerConn(t testing.TB, n int, traffic bool) (client, server float64) {
	t.Cleanup(socket.SetMoveDelay(idleMoveDelay))
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryPerConn$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PS_IDLE_CHILD=server", idleGOMAXPROCS)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = stdin.Close() // the server child exits at EOF
		require.NoError(t, cmd.Wait())
	}()
	lines := bufio.NewScanner(stdout)
	field := func(key string) string {
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), key+" "); ok {
				return v
			}
		}
		require.FailNow(t, "the server child ended", "waiting for %s: %v", key, lines.Err())
		return ""
	}
	addr := field("ADDR")

	echoed := make(chan struct{}, n)
	nop := socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action {
		echoed <- struct{}{}
		return socket.Continue
	})
	before := goMemory()
	conns := make([]*socket.Conn, 0, n)
	for range n {
		c, err := socket.Dial(context.Background(), "tcp", addr, nop, socket.Options{})
		require.NoError(t, err)
		conns = append(conns, c)
		if traffic {
			s := c.NewSender(nil)
			require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("sixteen bytes...")))
			s.Close()
			<-echoed
		}
	}
	client = float64(settledMemory()-before) / float64(n)
	_, err = fmt.Fprintf(stdin, "measure %d\n", n)
	require.NoError(t, err)
	server, err = strconv.ParseFloat(field("SERVER_BYTES_PER_CONN"), 64)
	require.NoError(t, err)
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	return client, server
}

// runIdleServer is the server child of idleBytesPerConn: it serves echo
// and, for each "measure N" line on stdin, waits until it holds N
// connections and prints the Go memory they add per Conn.
func runIdleServer(t *testing.T) {
	t.Cleanup(socket.SetMoveDelay(idleMoveDelay))
	before := goMemory()
	held, open := make(chan struct{}, 1<<16), 0
	addr := startServerTB(t, "tcp", func(*socket.Conn) socket.Reactor {
		held <- struct{}{}
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			if c.Reply(m.Header, m.Payload) != nil {
				return socket.Disconnect
			}
			return socket.Continue
		})
	}, socket.Options{})
	fmt.Printf("ADDR %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n int
		_, err := fmt.Sscanf(in.Text(), "measure %d", &n)
		require.NoError(t, err)
		for ; open < n; open++ {
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "timeout", "the server holds %d connections of %d", open, n)
			}
		}
		fmt.Printf("SERVER_BYTES_PER_CONN %.0f\n", float64(settledMemory()-before)/float64(n))
	}
	require.NoError(t, in.Err())
}

// TestIdleMemoryPerConn measures 1000 idle connections, the clients in a
// fresh test process and the server in another: the runtime sizes new
// goroutine stacks by the average stack use it has seen (GODEBUG
// adaptivestackstart), so a process that ran other tests first would
// measure their history, not the Conns.
func TestIdleMemoryPerConn(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 sockets")
	}
	testenv.SkipIfRace(t) // the race detector enlarges stacks and heap
	switch mode := os.Getenv("PS_IDLE_CHILD"); mode {
	case "server":
		runIdleServer(t)
		return
	case "":
	default:
		client, server := idleBytesPerConn(t, 1000, mode == "traffic")
		fmt.Printf("IDLE_BYTES_PER_CONN client %.0f server %.0f\n", client, server)
		return
	}
	// The target is 4 KiB per idle connection, client or server,
	// used or not: the writer state goes back to a pool when the writer
	// exits, and a connection whose Senders are all closed lets go of its
	// outbound queue. Measured 3.50-3.81 KiB (the Closed channel made on
	// demand, equal client Options shared; before those, 3.67-4.00 KiB,
	// which failed now and then); a regression (a grown reader
	// stack is 2 KiB more, a kept writer state 0.6 KiB, a kept queue 0.4)
	// fails.
	for _, tc := range []struct {
		mode           string
		client, server int
	}{{"never used", 4096, 4096}, {"traffic", 4096, 4096}} {
		t.Run(tc.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryPerConn$", "-test.count=1")
			cmd.Env = append(os.Environ(), "PS_IDLE_CHILD="+tc.mode, idleGOMAXPROCS)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			m := regexp.MustCompile(`IDLE_BYTES_PER_CONN client (\d+) server (\d+)`).FindSubmatch(out)
			require.NotNil(t, m, "%s", out)
			client, err := strconv.Atoi(string(m[1]))
			require.NoError(t, err)
			server, err := strconv.Atoi(string(m[2]))
			require.NoError(t, err)
			t.Logf("idle connection (%s): Go memory (heap + stacks) per Conn: client %d bytes, server %d bytes", tc.mode, client, server)
			require.LessOrEqual(t, client, tc.client, "client")
			require.LessOrEqual(t, server, tc.server, "server")
		})
	}
}
