package socketbench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Two more ways to measure one message in flight, to split the round-trip
// gap between protosocket and the minimal echo into its causes:
//
//   - reactorPingPong: the client's reactor sends the next message itself
//     (Conn.Reply, written by the reader before it next reads), so no
//     goroutine hands a reply to another: the transport's own round trip.
//   - rawReaderRoundTrips: the minimal echo read by a reader goroutine that
//     hands each reply to the waiting caller through a channel, which is
//     what any reactor (callback) client costs on top of a blocking read.

// pingPong is a client reactor that answers each echo with the next
// message and records the time between them.
type pingPong struct {
	left, warm int
	last       time.Time
	h          *hdrhistogram.Histogram
	payload    []byte
	done       chan error
	replies    atomic.Int64 // read by reactorPingPong's stall check
}

func (pp *pingPong) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	now := time.Now()
	pp.replies.Add(1)
	if pp.warm > 0 {
		pp.warm--
	} else if err := pp.h.RecordValue(int64(now.Sub(pp.last))); err != nil {
		pp.done <- err
		return socket.Disconnect
	}
	if pp.left--; pp.left == 0 {
		pp.done <- nil
		return socket.Continue
	}
	pp.last = time.Now()
	if err := c.Reply(frame.Header{Stream: 2}, pp.payload); err != nil {
		pp.done <- err
		return socket.Disconnect
	}
	return socket.Continue
}

// reactorPingPong runs warm+n round trips driven by the client's reactor
// against a protosocket echo server at addr and returns their latencies.
func reactorPingPong(addr string, warm, n int) (*hdrhistogram.Histogram, error) {
	pp := &pingPong{left: warm + n, warm: warm, h: hdrhistogram.New(1, int64(time.Second), 3),
		payload: make([]byte, msgSize), done: make(chan error, 1)}
	c, err := socket.Dial(context.Background(), "tcp", addr, pp, socket.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	s := c.NewSender(nil)
	defer s.Close()
	pp.last = time.Now()
	if err := s.Send(context.Background(), frame.Header{Stream: 2}, pp.payload); err != nil {
		return nil, err
	}
	// It fails when no reply came for a whole stall period, not when the
	// run as a whole took longer than some time per round trip: one
	// millisecond each failed the 110 round trips of
	// TestPingPongAndReaderRoundTrips under -race on a loaded machine.
	tick := time.NewTicker(stall)
	defer tick.Stop()
	seen := int64(-1)
	for {
		select {
		case err := <-pp.done:
			return pp.h, err
		case <-c.Closed():
			return nil, c.Err()
		case <-tick.C:
			r := pp.replies.Load()
			if r == seen {
				return nil, fmt.Errorf("socketbench: ping-pong made no progress for %v (%d of %d replies)", stall, r, warm+n)
			}
			seen = r
		}
	}
}

// rawReaderRoundTrips runs warm+n round trips over the minimal echo at
// addr, each reply read by a reader goroutine and handed to the caller.
func rawReaderRoundTrips(addr string, warm, n int) (*hdrhistogram.Histogram, error) {
	rc, err := dialRaw(addr)
	if err != nil {
		return nil, err
	}
	got := make(chan error, 1)
	rc.reading.Go(func() {
		for {
			err := rc.readOne()
			got <- err
			if err != nil {
				return
			}
		}
	})
	defer rc.close()
	h := hdrhistogram.New(1, int64(time.Second), 3)
	p := make([]byte, msgSize)
	timer := time.NewTimer(stall)
	defer timer.Stop()
	for i := range warm + n {
		t0 := time.Now()
		if err := rc.send(p); err != nil {
			return nil, err
		}
		if err := rc.flush(); err != nil {
			return nil, err
		}
		timer.Reset(stall)
		select {
		case err := <-got:
			if err != nil {
				return nil, err
			}
		case <-timer.C:
			return nil, errTimeout
		}
		if i >= warm {
			if err := h.RecordValue(int64(time.Since(t0))); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}
