package rpc_test

import (
	"context"
	"fmt"
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

// BenchmarkStreamEchoSize is BenchmarkStreamEcho at three message sizes,
// one per path of the server's receive queue (recvq.go), which counts
// what it holds against MaxConnStreamBytes: 16 B copied into the byte
// queue, 2 KiB into a buffer from the calibrating pool, 64 KiB into a
// large-class buffer.
func BenchmarkStreamEchoSize(b *testing.B) {
	for _, size := range []int{16, 2 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			_, addr := streamEchoServer(b)
			c := dial(b, addr, rpc.ClientOptions{})
			st, err := c.OpenStream(context.Background(), sBidi, nil)
			require.NoError(b, err)
			defer st.Close()
			msg, buf := make([]byte, size), make([]byte, 0, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
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
		})
	}
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

// sBatchEcho is the batched echo stream of batchEchoServer.
const sBatchEcho = 9001

// batchEcho echoes what the client sends, answering the messages Recv
// has without waiting (up to 64) with one SendMany.
func batchEcho(_ context.Context, st *rpc.ServerStream) error {
	var arena []byte
	var ends []int
	var msgs [][]byte
	for {
		var err error
		if arena, err = st.Recv(arena[:0]); err != nil {
			return nil
		}
		ends = append(ends[:0], len(arena))
		for n := st.Buffered(); n > 0 && len(ends) < 64; n-- {
			if arena, err = st.Recv(arena); err != nil {
				return nil
			}
			ends = append(ends, len(arena))
		}
		msgs = msgs[:0]
		start := 0
		for _, e := range ends {
			msgs = append(msgs, arena[start:e])
			start = e
		}
		if _, err := st.SendMany(msgs); err != nil {
			return err
		}
	}
}

// batchEchoServer serves the bidi echo stream (sBidi, one Send per
// message) and the batched one (sBatchEcho) with opts.
func batchEchoServer(t testing.TB, opts rpc.ServerOptions) string {
	srv, err := rpc.NewServer(opts)
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
	srv.HandleStream(sBatchEcho, batchEcho)
	return serve(t, srv)
}

// BenchmarkStreamPipelined streams 16-byte messages through an echo, one
// goroutine sending 32 at a time while another receives (the stream
// window, 64, bounds what is in flight): "one" sends with Send and the
// server echoes with Send, one message at a time; "many" sends each 32
// with one ClientStream.SendMany and the server answers what it has
// buffered with one ServerStream.SendMany. cpu-ns/msg is the process's
// CPU time (client and server) per message.
func BenchmarkStreamPipelined(b *testing.B) {
	for _, tc := range []struct {
		name   string
		method uint32
		many   bool
	}{{"one", sBidi, false}, {"many", sBatchEcho, true}} {
		b.Run(tc.name, func(b *testing.B) {
			addr := batchEchoServer(b, rpc.ServerOptions{})
			c := dial(b, addr, rpc.ClientOptions{})
			st, err := c.OpenStream(context.Background(), tc.method, nil)
			require.NoError(b, err)
			defer st.Close()
			const k = 32
			msgs := make([][]byte, k)
			for i := range msgs {
				msgs[i] = make([]byte, 16)
			}
			buf := make([]byte, 0, 16)
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			done := make(chan error, 1)
			go func() {
				for i := 0; i < b.N; i += k {
					if tc.many {
						if _, err := st.SendMany(msgs); err != nil {
							done <- err
							return
						}
						continue
					}
					for _, m := range msgs {
						if err := st.Send(m); err != nil {
							done <- err
							return
						}
					}
				}
				done <- nil
			}()
			for i := 0; i < b.N; i += k {
				for range k {
					if buf, err = st.Recv(buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
			}
			require.NoError(b, <-done)
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/msg")
			cs := c.Conn().Stats()
			b.ReportMetric(cs.FramesPerWrite(), "frames/write")
		})
	}
}

// BenchmarkCallContextPerPair: 128 callers per CPU, each making two calls
// per context of its own (a request's context, fanned out to two calls),
// then ending it: the pattern that registers a context watch per
// context (its second call) and drops it at the next, so every second
// call takes the Client's watch registry lock (ctxwatch.go).
func BenchmarkCallContextPerPair(b *testing.B) {
	ts := startServer(b, rpc.ServerOptions{ReuseContexts: true})
	c := dial(b, ts.addr, rpc.ClientOptions{})
	b.ReportAllocs()
	b.SetParallelism(128)
	b.RunParallel(func(pb *testing.PB) {
		k, err := c.NewCaller()
		if err != nil {
			b.Error(err)
			return
		}
		defer k.Close()
		req, dst := make([]byte, 16), make([]byte, 0, 16)
		for more := pb.Next(); more; {
			ctx, cancel := context.WithCancel(context.Background())
			for range 2 {
				if dst, err = k.Call(ctx, mEchoInline, req, dst[:0]); err != nil {
					b.Error(err)
					more = false
					break
				}
				if more = pb.Next(); !more {
					break
				}
			}
			cancel()
		}
	})
}
