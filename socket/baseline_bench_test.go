package socket_test

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// baselineEcho starts a minimal Go echo server (read into a 64 KiB buffer,
// write back what was read) and returns a connection to it: the reference
// the socket benchmarks are compared with.
func baselineEcho(b *testing.B) net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			if _, err := nc.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close(); _ = ln.Close(); <-done })
	return c
}

// BenchmarkBaselineRoundTrip: one 32-byte frame (16-byte header and
// payload) in flight over the minimal echo.
func BenchmarkBaselineRoundTrip(b *testing.B) {
	c := baselineEcho(b)
	out, in := make([]byte, 32), make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselinePipelined: the minimal echo with writes coalesced by
// 128 frames and 256 in flight; one op is one frame there and back.
func BenchmarkBaselinePipelined(b *testing.B) {
	c := baselineEcho(b)
	const half = 128
	out := make([]byte, 32*half)
	readDone := make(chan error, 1)
	n := (b.N + half - 1) / half
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		in := make([]byte, 32*half)
		for range n {
			if _, err := io.ReadFull(c, in); err != nil {
				readDone <- err
				return
			}
		}
		readDone <- nil
	}()
	for range n {
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-readDone; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n*half)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkBaselineRoundTripReader: the minimal echo, but replies are read
// by a reader goroutine that hands each to the caller through a channel,
// as a reactor-based client (ours) must: the cost of that one handoff.
func BenchmarkBaselineRoundTripReader(b *testing.B) {
	c := baselineEcho(b)
	out := make([]byte, 32)
	got := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		in := make([]byte, 32)
		for {
			if _, err := io.ReadFull(c, in); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		<-got
	}
	b.StopTimer()
	_ = c.Close()
	<-done
}
