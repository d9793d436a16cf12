package socket_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// records is a slog.Handler that keeps every record's message, level and
// attributes.
type records struct {
	mu  sync.Mutex
	got []logged
}

type logged struct {
	msg   string
	level slog.Level
	attrs map[string]string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	l := logged{msg: rec.Message, level: rec.Level, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.got = append(r.got, l)
	r.mu.Unlock()
	return nil
}

// find waits up to 10 s for a record with msg whose attribute key is val.
func (r *records) find(t *testing.T, msg, key, val string) logged {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, l := range r.got {
			if l.msg == msg && l.attrs[key] == val {
				r.mu.Unlock()
				return l
			}
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q record with %s=%s; got %v", msg, key, val, r.snapshot())
	return logged{}
}

func (r *records) snapshot() []logged {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logged(nil), r.got...)
}

// TestLoggerConnectionEvents: Options.Logger gets accepted, established,
// closed (with both addresses, the side and the cause) and rejected
// events, each naming the peer.
func TestLoggerConnectionEvents(t *testing.T) {
	srvLog, cliLog := &records{}, &records{}
	refuse := make(chan bool, 4)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
		if <-refuse {
			return nil
		}
		return echo(c)
	}, socket.Options{Logger: slog.New(srvLog)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	refuse <- false
	col := newCollector(1)
	c, err := socket.Dial(ctx, "tcp", addr.String(), col, socket.Options{Logger: slog.New(cliLog)})
	require.NoError(t, err)
	local := c.LocalAddr().String()
	s := c.NewSender(nil)
	require.NoError(t, s.Send(ctx, frame.Header{}, []byte("hi")))
	assert.Equal(t, []byte("hi"), col.next(t))
	s.Close()

	acc := srvLog.find(t, "socket: connection accepted", "remote", local)
	assert.Equal(t, slog.LevelDebug, acc.level)
	assert.Equal(t, addr.String(), acc.attrs["local"])
	est := cliLog.find(t, "socket: connection established", "local", local)
	assert.Equal(t, addr.String(), est.attrs["remote"])

	require.NoError(t, c.Close())
	cl := cliLog.find(t, "socket: connection closed", "local", local)
	assert.Equal(t, "client", cl.attrs["side"])
	assert.Equal(t, slog.LevelDebug, cl.level, "closed by us is routine")
	sc := srvLog.find(t, "socket: connection closed", "remote", local)
	assert.Equal(t, "server", sc.attrs["side"])
	assert.Contains(t, sc.attrs["cause"], "EOF")

	// A connection the reactor factory refuses.
	refuse <- true
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	rej := srvLog.find(t, "socket: connection rejected", "remote", nc.LocalAddr().String())
	assert.Equal(t, slog.LevelWarn, rej.level)
	assert.Contains(t, rej.attrs["err"], socket.ErrRefusedByReactor.Error())
}
