package socket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// refPeer reads frames from nc and checks every payload, whole or cut by a
// close, holds only the byte its Stream names: a byte the owner wrote
// after Abandon returned (0xff) shows the connection still read the
// payload then. bad gets the first such frame's stream.
func refPeer(nc net.Conn, bad chan<- uint32, done chan<- struct{}) {
	defer close(done)
	var hdr [frame.HeaderSize]byte
	buf := make([]byte, 64<<10)
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return
		}
		h, err := frame.ParseHeader(hdr[:])
		if err != nil {
			select { // never blocks: bad holds the first finding
			case bad <- 1 << 31:
			default:
			}
			return
		}
		n, err := io.ReadFull(nc, buf[:h.Length])
		for _, b := range buf[:n] {
			if b != byte(h.Stream) {
				select {
				case bad <- h.Stream:
				default:
				}
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Abandon racing with the writer finishing the same Ref: SendRef, then
// Abandon from another goroutine at once or a moment later, many times.
// Whatever wins, Abandon returns with the Ref free and the payload no
// longer read (the owner overwrites it and the peer never sees the new
// bytes); false leaves the connection open and usable, true closes it
// with the cause. Run with -race. Both outcomes occur: on this project's
// VMs (2 shared cores, loaded) 2000 rounds gave 130 to 505 closes (the
// rest kept) without -race, and 1600 to 2000 rounds with 600 to 770
// closes under -race, so at least 200 rounds (fewer only when the 3 s
// bound cut them very short) must see each at least once.
func TestSendRefAbandonRace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	bad := make(chan uint32, 1)
	var peers sync.WaitGroup
	defer peers.Wait()
	type conn struct {
		c    *socket.Conn
		s    *socket.Sender
		peer net.Conn
		done chan struct{}
	}
	dial := func() conn {
		accepted := make(chan net.Conn, 1)
		go func() {
			nc, _ := ln.Accept()
			accepted <- nc
		}()
		c, err := socket.Dial(context.Background(), "tcp", ln.Addr().String(), newCollector(1), socket.Options{})
		require.NoError(t, err)
		peer := <-accepted
		require.NotNil(t, peer)
		done := make(chan struct{})
		peers.Add(1)
		go func() { defer peers.Done(); refPeer(peer, bad, done) }()
		return conn{c, c.NewSender(nil), peer, done}
	}
	closeConn := func(cn conn) {
		cn.s.Close()
		_ = cn.c.Close()
		_ = cn.peer.Close()
		<-cn.done
	}
	cn := dial()
	defer func() { closeConn(cn) }()
	body := make([]byte, 40<<10) // over CopyThreshold: written by reference
	var r socket.Ref
	closed, kept, rounds := 0, 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
		rounds++
		stream := uint32(i%250 + 1)
		for j := range body {
			body[j] = byte(stream)
		}
		require.NoError(t, cn.s.SendRef(context.Background(), frame.Header{Stream: stream}, &r, nil, body))
		res := make(chan bool, 1)
		go func() {
			for range i % 4 { // at once, or a few yields later
				runtime.Gosched()
			}
			res <- cn.s.Abandon(&r, abandonCause{})
		}()
		abandoned := <-res
		require.False(t, r.Busy(), "the Ref is free when Abandon returns")
		for j := range body {
			body[j] = 0xff
		}
		if !abandoned {
			kept++
			require.NoError(t, cn.c.Err(), "Abandon reported false: the connection stays open")
			continue
		}
		closed++
		select {
		case <-cn.c.Closed():
		case <-time.After(10 * time.Second):
			t.Fatal("Abandon reported true and the connection did not close")
		}
		assert.True(t, errors.As(cn.c.Err(), new(abandonCause)), "the cause: %v", cn.c.Err())
		closeConn(cn)
		cn = dial()
	}
	// The connection left open still takes sends; closing it lets the
	// peer finish checking what it read.
	require.NoError(t, cn.s.Send(context.Background(), frame.Header{Stream: 7}, []byte{7, 7, 7}))
	require.NoError(t, cn.c.Err())
	closeConn(cn)
	cn = dial()
	select {
	case s := <-bad:
		t.Fatalf("stream %d: the peer read bytes written after Abandon returned", s)
	default:
	}
	// How often each side of the race wins depends on the machine's
	// scheduling (130-770 closes in 2000 rounds on the 2-core VMs): a
	// count, not an assertion.
	t.Logf("%d rounds: %d kept (withdrawn or written), %d closed", rounds, kept, closed)
}
