package socket_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// counter is a client reactor that signals every n-th message.
type counter struct {
	n, seen int
	ch      chan struct{}
}

func (r *counter) OnMessage(*socket.Conn, socket.Message) socket.Action {
	if r.seen++; r.seen == r.n {
		r.seen = 0
		r.ch <- struct{}{}
	}
	return socket.Continue
}

func benchClient(b *testing.B, r socket.Reactor) (*socket.Conn, *socket.Sender) {
	addr := startServerTB(b, "tcp", echo, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), r, socket.Options{})
	require.NoError(b, err)
	s := c.NewSender(nil)
	b.Cleanup(func() { s.Close(); _ = c.Close() })
	return c, s
}

// BenchmarkEchoPipelined: 16-byte messages echoed over loopback with a
// window of 256 in flight; one op is one message there and back.
func BenchmarkEchoPipelined(b *testing.B) {
	const window = 256
	r := &counter{n: window / 2, ch: make(chan struct{}, 4)}
	c, s := benchClient(b, r)
	payload := make([]byte, 16)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	inflight := 0
	for i := 0; i < b.N; i++ {
		if inflight == window {
			<-r.ch
			inflight -= window / 2
		}
		if err := s.Send(ctx, frame.Header{Stream: uint32(i)}, payload); err != nil {
			b.Fatal(err)
		}
		inflight++
	}
	// Pad to a multiple of the signal so every message is waited for.
	for ; inflight%(window/2) != 0; inflight++ {
		_ = s.Send(ctx, frame.Header{}, payload)
	}
	for ; inflight > 0; inflight -= window / 2 {
		<-r.ch
	}
	b.StopTimer()
	st := c.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(st.FramesPerWrite(), "frames/write")
}

// BenchmarkRoundTrip: one 16-byte message in flight.
func BenchmarkRoundTrip(b *testing.B) {
	r := &counter{n: 1, ch: make(chan struct{}, 1)}
	_, s := benchClient(b, r)
	payload := make([]byte, 16)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Send(ctx, frame.Header{}, payload); err != nil {
			b.Fatal(err)
		}
		<-r.ch
	}
}

// BenchmarkIdleConn reports the Go memory per idle Conn (heap + stacks).
func BenchmarkIdleConn(b *testing.B) {
	client, server := idleBytesPerConn(b, 1000, false)
	b.ReportMetric(client, "client-bytes/conn")
	b.ReportMetric(server, "server-bytes/conn")
	client, server = idleBytesPerConn(b, 1000, true)
	b.ReportMetric(client, "client-bytes/conn-after-traffic")
	b.ReportMetric(server, "server-bytes/conn-after-traffic")
}
