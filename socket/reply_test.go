package socket_test

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// holdingReactor replies k times to the first message, then blocks in
// OnMessage until release is closed: its replies sit in the reader's
// batch while the test acts on the connection.
type holdingReactor struct {
	k       int
	conn    chan *socket.Conn
	replied chan struct{}
	release chan struct{}
	late    chan error // the result of a Reply made after release
	once    sync.Once
}

func newHoldingReactor(k int) *holdingReactor {
	return &holdingReactor{k: k, conn: make(chan *socket.Conn, 1), replied: make(chan struct{}),
		release: make(chan struct{}), late: make(chan error, 1)}
}

func (r *holdingReactor) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	for i := range r.k {
		p := binary.LittleEndian.AppendUint32(nil, uint32(i))
		if err := c.Reply(frame.Header{Stream: uint32(i), Type: 7}, p); err != nil {
			panic(fmt.Sprintf("reply %d: %v", i, err))
		}
	}
	close(r.replied)
	<-r.release
	r.late <- c.Reply(frame.Header{}, []byte("late"))
	return socket.Continue
}

// unblock lets OnMessage return (once).
func (r *holdingReactor) unblock() { r.once.Do(func() { close(r.release) }) }

// waitSendsFail waits until sends on c fail: Close or Drain has begun.
func waitSendsFail(t *testing.T, c *socket.Conn) {
	t.Helper()
	probe := c.NewSender(func(socket.Failure) {})
	defer probe.Close()
	require.Eventually(t, func() bool { return probe.Send(context.Background(), frame.Header{}, nil) != nil },
		10*time.Second, time.Millisecond, "sends still succeed")
}

// failures collects Options.OnSendFailure reports.
type failures struct {
	mu sync.Mutex
	fs []socket.Failure
}

func (f *failures) add(x socket.Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x.Payload = append([]byte(nil), x.Payload...) // valid only during the callback
	f.fs = append(f.fs, x)
}

func (f *failures) get() []socket.Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]socket.Failure(nil), f.fs...)
}

// dialOne dials addr with a collecting client and sends one message.
func dialOne(t *testing.T, addr string) (*socket.Conn, *collector) {
	col := newCollector(1024)
	c, err := socket.Dial(context.Background(), "tcp", addr, col, socket.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s := c.NewSender(nil)
	t.Cleanup(s.Close)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("go")))
	return c, col
}

// startHolding starts a server whose reactor replies k times to the first
// message and then blocks, dials it and sends that message; it returns
// once the replies sit in the server reader's batch.
func startHolding(t *testing.T, k int, fl *failures) (*holdingReactor, *socket.Conn, *collector) {
	r := newHoldingReactor(k)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor { r.conn <- c; return r },
		socket.Options{OnSendFailure: fl.add})
	_, col := dialOne(t, addr.String())
	sc := <-r.conn
	t.Cleanup(r.unblock) // never leave the reader blocked
	<-r.replied
	return r, sc, col
}

// TestCloseFailsBatchedReplies: replies still in the reader's batch when
// the connection is closed are reported to the failure callback, each
// with its header and payload, and a Reply after Close fails.
func TestCloseFailsBatchedReplies(t *testing.T) {
	const k = 5
	var fl failures
	r, sc, _ := startHolding(t, k, &fl)
	closed := make(chan struct{})
	go func() { _ = sc.Close(); close(closed) }()
	waitSendsFail(t, sc)
	r.unblock()
	<-closed
	assert.ErrorIs(t, <-r.late, socket.ErrClosed)
	fs := fl.get()
	require.Len(t, fs, k, "every batched reply is reported")
	for i, f := range fs {
		assert.Equal(t, uint32(i), f.Header.Stream)
		assert.Equal(t, uint32(7), f.Header.Type)
		assert.Equal(t, uint32(i), binary.LittleEndian.Uint32(f.Payload))
		assert.ErrorIs(t, f.Err, socket.ErrClosed)
	}
}

// TestDrainWritesBatchedReplies: Drain writes the replies of the reader's
// last batch before it closes.
func TestDrainWritesBatchedReplies(t *testing.T) {
	const k = 5
	var fl failures
	r, sc, col := startHolding(t, k, &fl)
	drained := make(chan error, 1)
	go func() { drained <- sc.Drain(context.Background()) }()
	waitSendsFail(t, sc)
	r.unblock()
	require.NoError(t, <-drained)
	for i := 0; i < k; {
		if p := col.next(t); len(p) > 0 { // the probe's empty messages may come first
			assert.Equal(t, uint32(i), binary.LittleEndian.Uint32(p))
			i++
		}
	}
	assert.ErrorIs(t, <-r.late, socket.ErrClosed)
	assert.Empty(t, fl.get(), "nothing failed")
}

// TestReplyFramingErrorReturned: a reply the framing cannot carry fails
// at once, from Reply, and the connection goes on.
func TestReplyFramingErrorReturned(t *testing.T) {
	errs := make(chan error, 1)
	opts := socket.Options{Framing: frame.Lines}
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			errs <- c.Reply(frame.Header{}, []byte("two\nlines"))
			_ = c.Reply(frame.Header{}, append([]byte("re: "), m.Payload...))
			return socket.Continue
		})
	}, opts)
	col := newCollector(4)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, opts)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	s := c.NewSender(nil)
	defer s.Close()
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("hi")))
	assert.ErrorIs(t, <-errs, frame.ErrLineBreak)
	assert.Equal(t, "re: hi", string(col.next(t)))
}

// TestReplyBatchHandedOnMidBatch: a reactor that replies more than
// WriteBatchBytes to one message has its batch handed on as it fills;
// every reply arrives, in order.
func TestReplyBatchHandedOnMidBatch(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		name string
		opts socket.Options
	}{
		{"WriteBatchBytes", socket.Options{WriteBatchBytes: 1024}},
		{"QueueBytes", socket.Options{QueueBytes: 2048}},
		{"QueueMessages", socket.Options{QueueMessages: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := make(chan *socket.Conn, 1)
			addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
				conns <- c
				return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					p := make([]byte, 100)
					for i := range n {
						binary.LittleEndian.PutUint32(p, uint32(i))
						if err := c.Reply(frame.Header{}, p); err != nil {
							return socket.Disconnect
						}
					}
					return socket.Continue
				})
			}, tc.opts)
			_, col := dialOne(t, addr.String())
			for i := range n {
				require.Equal(t, uint32(i), binary.LittleEndian.Uint32(col.next(t)))
			}
			// One inbound message, 300 replies of 116 bytes: one write
			// without the limit, dozens with it.
			assert.GreaterOrEqual(t, (<-conns).Stats().WriteSyscalls, uint64(10), "the batch was handed on as it filled")
		})
	}
}

// TestSendFoldsSmallMessages: small messages sent while the Sender's
// previous one waits in the queue join its batch (one queue slot), large
// ones do not; a Close reports every one of them, in order.
func TestSendFoldsSmallMessages(t *testing.T) {
	var fl failures
	// WriteBatchBytes 1: the writer flushes (and blocks: the peer never
	// reads) right after it takes the first message.
	c := pipeConn(t, socket.Options{OnSendFailure: fl.add, WriteBatchBytes: 1})
	s := c.NewSender(nil)
	defer s.Close()
	ctx := context.Background()
	msg := func(i int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(i)) }
	require.NoError(t, s.Send(ctx, frame.Header{Stream: 0}, msg(0)))
	// The writer takes it and blocks: the peer never reads.
	require.Eventually(t, func() bool { return c.Stats().QueueDepth == 0 }, 10*time.Second, time.Millisecond)
	for i := 1; i <= 50; i++ {
		require.NoError(t, s.Send(ctx, frame.Header{Stream: uint32(i)}, msg(i)))
	}
	assert.Equal(t, int64(1), c.Stats().QueueDepth, "50 small messages, one batch")
	big := make([]byte, socket.MaxBatchedPayload+1)
	require.NoError(t, s.Send(ctx, frame.Header{Stream: 51}, big))
	require.NoError(t, s.Send(ctx, frame.Header{Stream: 52}, msg(52)))
	assert.Equal(t, int64(2), c.Stats().QueueDepth-1, "a large message is queued apart, and the next small one starts a batch")

	require.NoError(t, c.Close())
	fs := fl.get()
	require.Len(t, fs, 53)
	// Queued messages are reported before the one the writer held.
	slices.SortFunc(fs, func(a, b socket.Failure) int { return cmp.Compare(a.Header.Stream, b.Header.Stream) })
	for i, f := range fs {
		assert.Equal(t, uint32(i), f.Header.Stream)
		assert.ErrorIs(t, f.Err, socket.ErrClosed)
		if i == 51 {
			assert.Len(t, f.Payload, len(big))
		} else { // batched, the one the writer held included
			assert.Equal(t, msg(i), f.Payload)
		}
	}
}
