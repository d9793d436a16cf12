package pssys

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func start(t *testing.T, opts load.Options) (load.Server, load.Client) {
	t.Helper()
	ctx := context.Background()
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return srv, c
}

func TestRunEveryScenario(t *testing.T) {
	tests := []struct {
		sc   load.Scenario
		conc int
	}{
		{load.Unary, 16}, {load.Pipelined, 64}, {load.ServerStream, 1}, {load.Bidi, 64},
	}
	for _, tt := range tests {
		t.Run(string(tt.sc), func(t *testing.T) {
			opts := load.Options{Scenario: tt.sc, Payload: 16, Conns: 2, Concurrency: tt.conc}
			_, c := start(t, opts)
			res, err := load.Run(context.Background(), c, load.Config{Options: opts, Duration: 300 * time.Millisecond})
			require.NoError(t, err)
			assert.Positive(t, res.Ops)
			assert.Zero(t, res.Errors, "first error: %v", res.FirstError)
			assert.Positive(t, res.Percentile(50))
		})
	}
}

func TestOpenLoopRate(t *testing.T) {
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 4}
	_, c := start(t, opts)
	res, err := load.Run(context.Background(), c, load.Config{Options: opts, Duration: 500 * time.Millisecond, Rate: 400})
	require.NoError(t, err)
	assert.Equal(t, int64(200), res.Ops, "every scheduled call completes, no more")
	assert.Zero(t, res.Errors)
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, sc := range []load.Scenario{load.Unary, load.Pipelined} {
		_, err = New().Dial(context.Background(), addr, load.Options{Scenario: sc, Conns: 1, Concurrency: 1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "refused")
	}
}

// The slot array is sized at Dial: a caller beyond it is refused, and a
// closed caller's slot is reused.
func TestSlotsBounded(t *testing.T) {
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 2, Concurrency: 3}
	_, c := start(t, opts)
	var callers []load.Caller
	for i := range 4 { // 2 slots per connection
		cl, err := c.NewCaller(i)
		require.NoError(t, err)
		callers = append(callers, cl)
	}
	_, err := c.NewCaller(0)
	require.ErrorIs(t, err, ErrTooManyCallers)
	require.NoError(t, callers[0].Close())
	cl, err := c.NewCaller(0)
	require.NoError(t, err)
	require.NoError(t, cl.Call(context.Background(), make([]byte, 16)))
	require.NoError(t, cl.Close())
	for _, cl := range callers[1:] {
		require.NoError(t, cl.Close())
	}
}

func TestCallerOnStreamingClient(t *testing.T) {
	_, c := start(t, load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 1})
	_, err := c.NewCaller(0)
	require.ErrorIs(t, err, ErrWrongScenario)
}

// A reply to an abandoned call (its context ended) does not complete the
// caller's next call: each call waits for its own id.
func TestStaleReplyIgnored(t *testing.T) {
	u := newUconn(2)
	s := &u.slots[1]
	s.seq.Store(7)
	stale := socket.Message{Frame: frame.Frame{Header: frame.Header{Stream: 1<<seqBits | 6}}}
	assert.Equal(t, socket.Continue, u.OnMessage(nil, stale))
	assert.Empty(t, s.done, "stale reply must not complete the call")
	unknown := socket.Message{Frame: frame.Frame{Header: frame.Header{Stream: 9<<seqBits | 7}}}
	assert.Equal(t, socket.Continue, u.OnMessage(nil, unknown))
	current := socket.Message{Frame: frame.Frame{Header: frame.Header{Stream: 1<<seqBits | 7}}}
	assert.Equal(t, socket.Continue, u.OnMessage(nil, current))
	require.Len(t, s.done, 1)
	assert.Equal(t, uint32(1<<seqBits|7), <-s.done)
}

func TestCallCanceled(t *testing.T) {
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	_, c := start(t, opts)
	cl, err := c.NewCaller(0)
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = cl.Call(ctx, make([]byte, 16))
	if err != nil { // the reply may win the race with the canceled context
		require.ErrorIs(t, err, context.Canceled)
	}
	require.NoError(t, cl.Call(context.Background(), make([]byte, 16)))
}

// Calls fail with the connection's error once the server is gone.
func TestCallAfterServerClose(t *testing.T) {
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	srv, c := start(t, opts)
	cl, err := c.NewCaller(0)
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.Call(context.Background(), make([]byte, 16)))
	require.NoError(t, srv.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = cl.Call(ctx, make([]byte, 16))
	require.ErrorIs(t, err, socket.ErrClosed)
}

// Hostile requests to the server close the connection: an unknown kind, a
// bad server-stream request.
func TestServerRejects(t *testing.T) {
	srv, err := New().Serve(context.Background(), "127.0.0.1:0", load.Options{})
	require.NoError(t, err)
	defer srv.Close()
	size := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	tests := []struct {
		name    string
		h       frame.Header
		payload []byte
	}{
		{"unknown kind", frame.Header{Kind: 200}, []byte("x")},
		{"stream request too short", frame.Header{Kind: KindServerStream}, []byte{1}},
		{"stream payload below stamp", frame.Header{Kind: KindServerStream}, size(load.StampSize - 1)},
		{"stream payload too large", frame.Header{Kind: KindServerStream}, size(load.MaxPayload + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", srv.Addr())
			require.NoError(t, err)
			defer nc.Close()
			b, err := frame.AppendFrame(nil, tt.h, tt.payload)
			require.NoError(t, err)
			_, err = nc.Write(b)
			require.NoError(t, err)
			require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = io.ReadAll(nc)
			assert.NoError(t, err, "server closes the connection (EOF), not a timeout")
		})
	}
}

// Steady-state unary calls allocate nothing, on either side (AllocsPerRun
// counts the whole process: client, server and the socket goroutines).
func TestUnaryCallAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	_, c := start(t, opts)
	cl, err := c.NewCaller(0)
	require.NoError(t, err)
	defer cl.Close()
	req := make([]byte, 16)
	ctx := context.Background()
	for range 1000 { // warm the pools
		require.NoError(t, cl.Call(ctx, req))
	}
	allocs := testing.AllocsPerRun(2000, func() {
		if err := cl.Call(ctx, req); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per unary call")
}

func BenchmarkUnaryCall(b *testing.B) {
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	ctx := context.Background()
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(b, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(b, err)
	defer c.Close()
	cl, err := c.NewCaller(0)
	require.NoError(b, err)
	defer cl.Close()
	req := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := cl.Call(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
