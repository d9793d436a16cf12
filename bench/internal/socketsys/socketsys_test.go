package socketsys

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRunStreamScenarios(t *testing.T) {
	loadtest.RunScenarios(t, New(), 2, 300*time.Millisecond,
		loadtest.Scenario{Scenario: load.Pipelined, Concurrency: 64},
		loadtest.Scenario{Scenario: load.Bidi, Concurrency: 256})
}

// Every echo comes back unchanged and in order: each message carries its
// index, read back from Recv.
func TestEchoInOrder(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	p := make([]byte, 16)
	const n = 10_000
	for sent, got := 0, 0; got < n; {
		for sent < n && sent-got < 64 {
			load.PutStamp(p, int64(sent))
			require.NoError(t, st.Send(p))
			sent++
		}
		require.NoError(t, st.Flush())
		for sent-got > 32 || (sent == n && got < n) {
			m, err := st.Recv()
			require.NoError(t, err)
			require.Len(t, m, 16)
			require.Equal(t, int64(got), load.Stamp(m))
			got++
		}
	}
	require.NoError(t, st.Close())
	_, err = st.Recv()
	assert.ErrorIs(t, err, errClosed, "Recv after Close")
}

func TestUnsupportedScenarios(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.NewCaller(0)
	assert.ErrorIs(t, err, ErrUnsupported)
	opts.Scenario = load.ServerStream
	c2, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.OpenStream(ctx, 0)
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = New().Dial(context.Background(), addr, load.Options{Scenario: load.Pipelined, Conns: 1})
	require.Error(t, err)
}

// A reply of an earlier stream on the connection (a phase's, arriving
// after its grace period) is not Recv'd by the next one: the server here
// holds the first stream's echoes until the second stream is open, then
// echoes everything in order. Before, the second stream's first Recv
// returned the first stream's message.
func TestLateRepliesStayInTheirPhase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	release := make(chan struct{})
	var released sync.Once
	defer released.Do(func() { close(release) })
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	held := socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		<-release
		return echo(c, b)
	})
	wg.Go(func() {
		_ = socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor { return held }, socket.Options{})
	})

	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	c, err := New().Dial(ctx, ln.Addr().String(), opts)
	require.NoError(t, err)
	defer c.Close()
	p := make([]byte, 16)

	first, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	for i := range 10 {
		load.PutStamp(p, int64(1+i))
		require.NoError(t, first.Send(p))
	}
	require.NoError(t, first.Flush())
	require.NoError(t, first.Close()) // the phase ended unanswered

	second, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	load.PutStamp(p, 100)
	require.NoError(t, second.Send(p))
	require.NoError(t, second.Flush())
	released.Do(func() { close(release) })
	m, err := second.Recv()
	require.NoError(t, err)
	assert.Equal(t, int64(100), load.Stamp(m), "the second stream received the first one's reply")
	require.NoError(t, second.Close())
}
