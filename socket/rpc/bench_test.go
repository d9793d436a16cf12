package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// BenchmarkCall measures unary calls from 32 callers per CPU; "safe" is
// the default handler context (one allocation per call), "reuse" is
// ServerOptions.ReuseContexts (none).
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct {
		name   string
		method uint32
		reuse  bool
	}{{"inline/safe", mEchoInline, false}, {"inline/reuse", mEchoInline, true},
		{"pooled/safe", mEcho, false}, {"pooled/reuse", mEcho, true}} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startServer(b, rpc.ServerOptions{ReuseContexts: tc.reuse})
			c := dial(b, ts.addr, rpc.ClientOptions{})
			b.ReportAllocs()
			b.SetParallelism(32) // 32 callers per CPU
			b.RunParallel(func(pb *testing.PB) {
				k, err := c.NewCaller()
				if err != nil {
					b.Error(err)
					return
				}
				defer k.Close()
				req, dst := make([]byte, 16), make([]byte, 0, 16)
				for pb.Next() {
					if dst, err = k.Call(context.Background(), tc.method, req, dst[:0]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(c.Conn().Stats().FramesPerWrite(), "frames/write")
		})
	}
}

// BenchmarkCallSharedContext is BenchmarkCall/inline/reuse with every
// caller passing one context with a deadline, as a load loop or a fanned
// out request does: each call carries a timeout, and its wait must notice
// that one context's end (ctxwatch.go).
func BenchmarkCallSharedContext(b *testing.B) {
	ts := startServer(b, rpc.ServerOptions{ReuseContexts: true})
	c := dial(b, ts.addr, rpc.ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		k, err := c.NewCaller()
		if err != nil {
			b.Error(err)
			return
		}
		defer k.Close()
		req, dst := make([]byte, 16), make([]byte, 0, 16)
		for pb.Next() {
			if dst, err = k.Call(ctx, mEchoInline, req, dst[:0]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkStreamEcho(b *testing.B) {
	_, addr := streamEchoServer(b)
	c := dial(b, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(context.Background(), sBidi, nil)
	require.NoError(b, err)
	defer st.Close()
	msg, buf := make([]byte, 16), make([]byte, 0, 16)
	b.ReportAllocs()
	done := make(chan error, 1)
	go func() {
		for range b.N {
			if err := st.Send(msg); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if buf, err = st.Recv(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, <-done)
	cs := c.Conn().Stats()
	b.ReportMetric(cs.FramesPerWrite(), "frames/write")
	b.ReportMetric(float64(cs.FramesIn)/float64(max(cs.Reads, 1)), "frames/read")
}

// TestStreamAllocs counts allocations per 64 streamed round trips
// (AllocsPerRun divides with integers: one allocation every 16 messages,
// the credit frame's escaping payload before, read as 0 per message).
func TestStreamAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	_, addr := streamEchoServer(t)
	c := dial(t, addr, rpc.ClientOptions{})
	st, err := c.OpenStream(context.Background(), sBidi, nil)
	require.NoError(t, err)
	defer st.Close()
	msg, buf := make([]byte, 16), make([]byte, 0, 16)
	for range 1000 {
		require.NoError(t, st.Send(msg))
		buf, err = st.Recv(buf[:0])
		require.NoError(t, err)
	}
	const perRun = 64 // two credit grants each way
	allocs := testing.AllocsPerRun(200, func() {
		for range perRun {
			_ = st.Send(msg)
			buf, _ = st.Recv(buf[:0])
		}
	})
	assert.Zero(t, allocs, "allocations per %d streamed round trips, client plus server", perRun)
	// Pipelined as psbench runs it: 32 messages in flight.
	allocs = testing.AllocsPerRun(200, func() {
		for range perRun / 2 {
			_ = st.Send(msg)
		}
		for range perRun / 2 {
			buf, _ = st.Recv(buf[:0])
		}
	})
	assert.Zero(t, allocs, "allocations per %d pipelined stream messages, client plus server", perRun/2)
}

// streamEchoServer serves only the bidi echo stream.
func streamEchoServer(t testing.TB) (*rpc.Server, string) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.HandleStream(sBidi, func(_ context.Context, st *rpc.ServerStream) error {
		var buf []byte
		for {
			var err error
			if buf, err = st.Recv(buf[:0]); err != nil {
				return nil
			}
			if err := st.Send(buf); err != nil {
				return err
			}
		}
	})
	return srv, serve(t, srv)
}
