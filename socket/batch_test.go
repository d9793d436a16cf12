package socket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// batchEcho is a server reactor that answers every message of each read
// batch with Batch.Reply.
func batchEcho(*socket.Conn) socket.Reactor {
	return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		for m, ok := b.Next(); ok; m, ok = b.Next() {
			if err := b.Reply(m.Header, m.Payload); err != nil {
				return socket.Disconnect
			}
		}
		return socket.Continue
	})
}

// batchCounter is a client BatchReactor that copies every payload and
// counts its batches.
type batchCounter struct {
	mu      sync.Mutex
	got     [][]byte
	batches int
	ch      chan struct{} // a token per message
}

func newBatchCounter(n int) *batchCounter { return &batchCounter{ch: make(chan struct{}, n)} }

func (bc *batchCounter) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	panic("the connection calls OnBatch on a BatchReactor")
}

func (bc *batchCounter) OnBatch(c *socket.Conn, b *socket.Batch) socket.Action {
	bc.mu.Lock()
	bc.batches++
	n := 0
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		bc.got = append(bc.got, bytes.Clone(m.Payload))
		n++
	}
	bc.mu.Unlock()
	for range n {
		bc.ch <- struct{}{}
	}
	return socket.Continue
}

func (bc *batchCounter) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-bc.ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no message within 10s")
		}
	}
}

// The batch path end to end: a SendBatch of 500 messages, echoed by a
// BatchReactor with Batch.Reply, taken by a BatchReactor, all in order; the
// messages came in fewer batches than messages.
func TestBatchEcho(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := startServer(t, network, batchEcho, socket.Options{})
			bc := newBatchCounter(1000)
			c, err := socket.Dial(context.Background(), network, addr.String(), bc, socket.Options{})
			require.NoError(t, err)
			defer c.Close()
			s := c.NewSender(nil)
			defer s.Close()
			sb := s.Batch()
			const n = 500
			for i := range n {
				p := binary.LittleEndian.AppendUint32(nil, uint32(i))
				require.NoError(t, sb.Append(frame.Header{Stream: uint32(i)}, p))
			}
			assert.Equal(t, n, sb.Len())
			require.NoError(t, sb.Send(context.Background()))
			assert.Zero(t, sb.Len(), "sent: the batch is empty again")
			bc.wait(t, n)
			bc.mu.Lock()
			defer bc.mu.Unlock()
			for i, p := range bc.got {
				require.Equal(t, uint32(i), binary.LittleEndian.Uint32(p), "message %d", i)
			}
			assert.Less(t, bc.batches, n, "read batches hold several messages")
			t.Logf("%d messages in %d batches", n, bc.batches)
		})
	}
}

// A read batch that ends in the middle of a frame keeps that frame: it
// comes whole in a later batch. The partial frame sits at the end of a
// full slab: the frame.Reader must move it to read the rest, and does so
// only after OnBatch returned (the batch's views stay intact, and no
// slab is taken while a batch runs: the move reuses the slab in place).
func TestBatchEndsMidFrame(t *testing.T) {
	type seen struct {
		payloads [][]byte
		intact   bool
		gets     uint64 // slabs taken while the batch ran
	}
	batches := make(chan seen, 16)
	const slab = 4096
	slabs := pool.NewSlabPool(pool.Options{})
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			gets := slabs.Stats().Gets
			var views, copies [][]byte
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				views = append(views, m.Payload)
				copies = append(copies, bytes.Clone(m.Payload))
			}
			s := seen{payloads: copies, intact: true, gets: slabs.Stats().Gets - gets}
			for i := range views {
				s.intact = s.intact && bytes.Equal(views[i], copies[i])
			}
			batches <- s
			return socket.Continue
		})
	}, socket.Options{ReadSlabSize: slab, SlabPool: slabs})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	// Five frames of 800 bytes fill 4000 of the slab's 4096; the sixth's
	// first 300 bytes cross its end.
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 800-frame.HeaderSize) }
	var wire []byte
	for i := range 6 {
		wire, err = frame.AppendFrame(wire, frame.Header{Stream: uint32(i)}, payload(i))
		require.NoError(t, err)
	}
	_, err = nc.Write(wire[:4300])
	require.NoError(t, err)
	var got [][]byte
	for len(got) < 5 {
		select {
		case s := <-batches:
			assert.True(t, s.intact, "the views of a batch stay intact until OnBatch returns")
			assert.Zero(t, s.gets, "a batch ending mid-frame does not move the partial frame to a new slab")
			got = append(got, s.payloads...)
		case <-time.After(10 * time.Second):
			t.Fatal("no batch within 10s")
		}
	}
	require.Len(t, got, 5, "the sixth frame is not whole yet")
	select {
	case s := <-batches:
		t.Fatalf("a batch before the frame is whole: %d messages", len(s.payloads))
	case <-time.After(50 * time.Millisecond):
	}
	_, err = nc.Write(wire[4300:])
	require.NoError(t, err)
	select {
	case s := <-batches:
		assert.True(t, s.intact)
		got = append(got, s.payloads...)
	case <-time.After(10 * time.Second):
		t.Fatal("the sixth frame did not come")
	}
	require.Len(t, got, 6)
	for i, p := range got {
		assert.Equal(t, payload(i), p, "frame %d", i)
	}
}

// OnBatch may stop early: the messages it leaves form the next batch.
// Returning Continue without taking one closes with ErrBatchUnread.
func TestBatchStopEarly(t *testing.T) {
	var mu sync.Mutex
	var got []string
	done := make(chan struct{}, 10)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			m, ok := b.Next() // one message per call
			require.True(t, ok)
			mu.Lock()
			got = append(got, string(m.Payload))
			mu.Unlock()
			done <- struct{}{}
			return socket.Continue
		})
	}, socket.Options{})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	var wire []byte
	for _, p := range []string{"one", "two", "three", "four"} {
		wire, _ = frame.AppendFrame(wire, frame.Header{}, []byte(p))
	}
	_, err = nc.Write(wire)
	require.NoError(t, err)
	for range 4 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a message did not come")
		}
	}
	mu.Lock()
	assert.Equal(t, []string{"one", "two", "three", "four"}, got)
	mu.Unlock()

	conns := make(chan *socket.Conn, 1)
	addr = startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.BatchFunc(func(*socket.Conn, *socket.Batch) socket.Action { return socket.Continue })
	}, socket.Options{})
	nc2, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc2.Close()
	_, err = nc2.Write(wire)
	require.NoError(t, err)
	err = waitClosed(t, <-conns)
	assert.ErrorIs(t, err, socket.ErrBatchUnread)
	assert.ErrorIs(t, err, socket.ErrClosed)
}

// A batch ends at Options.MaxUnfinished: a reactor that retains every
// message never holds more than the bound, batch or not, and a plain
// Reactor (OnMessage, run over the same read batches) neither.
func TestBatchMaxUnfinished(t *testing.T) {
	const limit = 5
	for _, plain := range []bool{false, true} {
		held := make(chan socket.Message, 100)
		var maxSeen int64
		var mu sync.Mutex
		take := func(c *socket.Conn, m socket.Message) {
			m.Retain()
			mu.Lock()
			maxSeen = max(maxSeen, c.Stats().Unfinished)
			mu.Unlock()
			held <- m
		}
		addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
			if plain {
				return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					take(c, m)
					return socket.Continue
				})
			}
			return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
				for m, ok := b.Next(); ok; m, ok = b.Next() {
					take(c, m)
				}
				return socket.Continue
			})
		}, socket.Options{MaxUnfinished: limit})
		nc, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		defer nc.Close()
		var wire []byte
		for range 20 {
			wire, _ = frame.AppendFrame(wire, frame.Header{}, []byte("x"))
		}
		_, err = nc.Write(wire)
		require.NoError(t, err)
		// Release only in groups of limit: each group is held at once,
		// so the reader must reach the bound (released one by one as they
		// came, the test could keep up with the reader and the count
		// never reach it), and the next group comes only after a release.
		for range 20 / limit {
			group := make([]socket.Message, 0, limit)
			for range limit {
				select {
				case m := <-held:
					group = append(group, m)
				case <-time.After(10 * time.Second):
					t.Fatal("a message did not come")
				}
			}
			for _, m := range group {
				m.Release()
			}
		}
		mu.Lock()
		assert.LessOrEqual(t, maxSeen, int64(limit), "plain %v", plain)
		assert.Equal(t, int64(limit), maxSeen, "the reader filled the bound (plain %v)", plain)
		mu.Unlock()
	}
}

// SendBatch's bounds and errors: a full batch refuses more (QueueMessages),
// a framing error appends nothing, a failed Send keeps the batch, and a
// batch queued then failed at close reports each message.
func TestSendBatchBounds(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{QueueMessages: 4, Framing: frame.Lines})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	for i := range 4 {
		require.NoError(t, sb.Append(frame.Header{}, []byte{byte('a' + i)}))
	}
	assert.ErrorIs(t, sb.Append(frame.Header{}, []byte("e")), socket.ErrBatchFull)
	assert.Equal(t, 4, sb.Len())
	sb.Reset()
	assert.ErrorIs(t, sb.Append(frame.Header{}, []byte("line\nbreak")), frame.ErrLineBreak)
	assert.Zero(t, sb.Len(), "a framing error appends nothing")
	assert.ErrorIs(t, sb.Append(frame.Header{}, make([]byte, frame.DefaultMaxFrameSize+1)), socket.ErrFrameTooLarge)
	require.NoError(t, sb.Send(context.Background()), "an empty batch is a no-op")
}

func TestSendBatchFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var mu sync.Mutex
	var failed []string
	onFail := func(f socket.Failure) {
		mu.Lock()
		failed = append(failed, string(f.Payload))
		mu.Unlock()
	}
	c, err := socket.Dial(context.Background(), "tcp", ln.Addr().String(), nopReactor, socket.Options{QueueMessages: 4, FailWhenFull: true})
	require.NoError(t, err)
	peer, err := ln.Accept() // never reads: the writer stalls once the socket buffers fill
	require.NoError(t, err)
	defer peer.Close()
	s := c.NewSender(onFail)
	big := bytes.Repeat([]byte("z"), 1<<20)
	// Fill the socket buffers and the queue until a batch of three cannot
	// be queued: ErrBackpressure, and the batch keeps its messages.
	sb := s.Batch()
	var full error
	queued := 0 // batches Send queued
	for i := 0; i < 200 && full == nil; i++ {
		if err := s.Send(context.Background(), frame.Header{}, big); err != nil {
			full = err
			break
		}
		for _, p := range []string{"x", "y", "z"} {
			require.NoError(t, sb.Append(frame.Header{}, []byte(p)))
		}
		if full = sb.Send(context.Background()); full == nil {
			queued++
		}
	}
	require.ErrorIs(t, full, socket.ErrBackpressure)
	if sb.Len() > 0 {
		assert.Equal(t, 3, sb.Len(), "a failed Send keeps the batch")
	}
	sb.Reset()
	s.Close()
	require.NoError(t, c.Close())
	// Nothing is lost: each message of every batch Send queued was either
	// written (the peer reads it now) or reported failed, whole batches
	// at a time. Which of the two depends on where the writer stalled.
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(10*time.Second)))
	wire, err := io.ReadAll(peer)
	require.NoError(t, err)
	delivered := 0
	for len(wire) >= frame.HeaderSize {
		h, err := frame.ParseHeader(wire)
		require.NoError(t, err)
		n := frame.HeaderSize + int(h.Length)
		if n > len(wire) {
			break // a large message cut by the close
		}
		if h.Length == 1 {
			delivered++
		}
		wire = wire[n:]
	}
	mu.Lock()
	defer mu.Unlock()
	failedSmall := 0
	for _, p := range failed {
		if len(p) == 1 {
			failedSmall++
		}
	}
	t.Logf("batches queued %d: delivered %d messages, failed %d", queued, delivered, failedSmall)
	assert.Equal(t, 3*queued, delivered+failedSmall, "every batched message written or reported (delivered %d, failed %d)", delivered, failedSmall)
	assert.Zero(t, failedSmall%3, "each message of a queued batch is reported: %d", failedSmall)
}

// The batch path allocates nothing per message in steady state: a
// SendBatch of 32, echoed with Batch.Reply, taken by OnBatch.
func TestBatchAllocsPerMessage(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	addr := startServer(t, "tcp", batchEcho, socket.Options{})
	got := make(chan struct{}, 64)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		for _, ok := b.Next(); ok; _, ok = b.Next() {
			got <- struct{}{}
		}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	payload := []byte("0123456789abcdef")
	ctx := context.Background()
	batch := func() {
		for range 32 {
			require.NoError(t, sb.Append(frame.Header{Stream: 7}, payload))
		}
		require.NoError(t, sb.Send(ctx))
		for range 32 {
			<-got
		}
	}
	for range 100 {
		batch()
	}
	assert.Zero(t, testing.AllocsPerRun(200, batch)/32)
	roundTrip := func() {
		require.NoError(t, sb.Append(frame.Header{Stream: 7}, payload))
		require.NoError(t, sb.Send(ctx))
		<-got
	}
	assert.Zero(t, testing.AllocsPerRun(500, roundTrip))
}

// Under the psdebug tag a Batch kept past OnBatch panics when used, naming
// the mistake.
func TestBatchAfterReturnDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	// The reader ends a batch (marks it done) after OnBatch returns, so the
	// kept Batch is handed over from the next batch's OnBatch: by then the
	// first one has ended (a send from inside the first OnBatch would race
	// with that end).
	var first *socket.Batch
	firstDone := make(chan struct{}, 1)
	kept := make(chan *socket.Batch, 1)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			for _, ok := b.Next(); ok; _, ok = b.Next() {
			}
			if first == nil {
				first = b // a bug: b is valid only during OnBatch
				firstDone <- struct{}{}
			} else if first != b {
				select {
				case kept <- first:
				default:
				}
			}
			return socket.Continue
		})
	}, socket.Options{})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	wire, _ := frame.AppendFrame(nil, frame.Header{}, []byte("hi"))
	_, err = nc.Write(wire)
	require.NoError(t, err)
	<-firstDone
	_, err = nc.Write(wire) // a second batch, once the first one is over
	require.NoError(t, err)
	b := <-kept
	for _, use := range []func(){
		func() { b.Next() },
		func() { _ = b.Reply(frame.Header{}, nil) },
		func() { _ = b.ReplyAppend(frame.Header{}, func(dst []byte) []byte { return dst }) },
		func() { _ = b.Time() },
	} {
		var msg any
		func() {
			defer func() { msg = recover() }()
			use()
		}()
		assert.Equal(t, socket.MsgBatchAfterReturn, msg)
	}
}

// On a connection without the non-blocking reader (net.Pipe here, TLS in
// practice) a batch holds one message and Batch.Reply queues on the
// reader's Sender, as Conn.Reply does there.
func TestBatchOverPipe(t *testing.T) {
	a, b := net.Pipe()
	srv, err := socket.NewConn(a, socket.BatchFunc(func(c *socket.Conn, bt *socket.Batch) socket.Action {
		n := 0
		for m, ok := bt.Next(); ok; m, ok = bt.Next() {
			n++
			if err := bt.Reply(m.Header, m.Payload); err != nil {
				return socket.Disconnect
			}
		}
		if n != 1 {
			panic("a batch on a pipe holds one message")
		}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer srv.Close()
	col := newCollector(8)
	cli, err := socket.NewConn(b, col, socket.Options{})
	require.NoError(t, err)
	defer cli.Close()
	s := cli.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	for _, p := range []string{"a", "bb", "ccc"} {
		require.NoError(t, sb.Append(frame.Header{}, []byte(p)))
	}
	require.NoError(t, sb.Send(context.Background()))
	for _, want := range []string{"a", "bb", "ccc"} {
		assert.Equal(t, want, string(col.next(t)))
	}
}

// A BatchReactor that returns Disconnect: the replies it made in the batch
// are written before the connection closes with ErrDisconnected.
func TestBatchDisconnectWritesReplies(t *testing.T) {
	conns := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				if err := b.Reply(m.Header, m.Payload); err != nil {
					return socket.Disconnect
				}
				if string(m.Payload) == "bye" {
					return socket.Disconnect
				}
			}
			return socket.Continue
		})
	}, socket.Options{})
	col := newCollector(8)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	for _, p := range []string{"one", "two", "bye", "never"} {
		require.NoError(t, sb.Append(frame.Header{}, []byte(p)))
	}
	require.NoError(t, sb.Send(context.Background()))
	for _, want := range []string{"one", "two", "bye"} {
		assert.Equal(t, want, string(col.next(t)))
	}
	assert.ErrorIs(t, waitClosed(t, <-conns), socket.ErrDisconnected)
	assert.ErrorIs(t, waitClosed(t, c), io.EOF, "the server hung up after its replies")
}

// Under the psdebug tag a Payload taken from a Batch and kept past OnBatch
// reads as poison once its slab is released, as OnMessage's does.
func TestBatchPayloadLifetimeDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	kept := make(chan []byte, 4)
	conns := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				kept <- m.Payload // a bug: valid only until OnBatch returns
			}
			return socket.Continue
		})
	}, socket.Options{SlabPool: pool.NewSlabPool(pool.Options{MaxIdleBytes: -1})})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	wire, _ := frame.AppendFrame(nil, frame.Header{}, []byte("borrowed"))
	wire, _ = frame.AppendFrame(wire, frame.Header{}, []byte("too"))
	_, err = nc.Write(wire)
	require.NoError(t, err)
	first, second := <-kept, <-kept
	require.NoError(t, nc.Close())
	waitClosed(t, <-conns)
	assert.True(t, pool.Poisoned(first), "a view kept past OnBatch reads as poison")
	assert.True(t, pool.Poisoned(second))
}

// A batch's views stay valid until OnBatch returns whatever the batch's
// first and last frames are and however the batch ends: here a framing
// error met inside the batch fails the stream (the Reader lets go of its
// slab) while OnBatch still holds the views of the frames before it. The
// batch holds the Reader's slab, not only its first frame's: a skipped
// oversized frame (OversizedSkip) has no slab, and a batch that began
// with one held nothing, so the views read the slab's next user's bytes
// (a use-after-free across connections). Each case checks the views
// after another user of the pool took every slab it had free and wrote
// over it, with and without the psdebug tag (which poisons released
// slabs).
func TestBatchViewsOutliveFramingError(t *testing.T) {
	frameOf := func(stream uint32, n int, c byte) []byte {
		w, err := frame.AppendFrame(nil, frame.Header{Stream: stream}, bytes.Repeat([]byte{c}, n))
		require.NoError(t, err)
		return w
	}
	big := func() []byte { // over MaxFrameSize, within the slab: skipped, no slab
		w, _ := frame.AppendFrame(nil, frame.Header{Stream: 99}, make([]byte, 1500))
		return w
	}
	garbage := bytes.Repeat([]byte{0xee}, 16) // a bad version: ErrMalformed
	smalls := append(append(frameOf(1, 100, 'a'), frameOf(2, 100, 'b')...), frameOf(3, 100, 'c')...)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		wire []byte
		want int // small frames taken as views
	}{
		{"oversized first", cat(big(), smalls, garbage), 3},
		{"oversized last", cat(smalls, big(), garbage), 3},
		{"oversized first and last", cat(big(), smalls, big(), garbage), 3},
		{"small first", cat(smalls, garbage), 3},
		{"oversized first, then a partial frame", cat(big(), smalls, frameOf(4, 500, 'd')[:200]), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slabs := pool.NewSlabPool(pool.Options{})
			type result struct {
				n       int
				inUse   int64
				corrupt []int
			}
			out := make(chan result, 4)
			addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
				return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
					var views, copies [][]byte
					for m, ok := b.Next(); ok; m, ok = b.Next() {
						if !m.Oversized {
							views = append(views, m.Payload)
							copies = append(copies, bytes.Clone(m.Payload))
						}
					}
					r := result{n: len(views), inUse: slabs.Stats().SlabsInUse}
					// Another connection's reader takes what the pool has
					// free and reads into it.
					var others []*pool.Slab
					for _, size := range []int{4096, 4096, 8192, 16384} {
						s := slabs.Get(size)
						for i := range s.Bytes() {
							s.Bytes()[i] = 'Z'
						}
						others = append(others, s)
					}
					for i := range views {
						if !bytes.Equal(views[i], copies[i]) {
							r.corrupt = append(r.corrupt, i)
						}
					}
					for _, s := range others {
						s.Release()
					}
					select {
					case out <- r:
					default:
					}
					return socket.Continue
				})
			}, socket.Options{MaxFrameSize: 1024, ReadSlabSize: 4096, Oversized: socket.OversizedSkip, SlabPool: slabs})
			nc, err := net.Dial("tcp", addr.String())
			require.NoError(t, err)
			defer nc.Close()
			_, err = nc.Write(tc.wire) // one write: one read batch (4096-byte slab)
			require.NoError(t, err)
			select {
			case r := <-out:
				require.Equal(t, tc.want, r.n, "messages in the batch")
				assert.NotZero(t, r.inUse, "the batch holds its slab")
				assert.Empty(t, r.corrupt, "views changed before OnBatch returned")
			case <-time.After(10 * time.Second):
				t.Fatal("no batch")
			}
		})
	}
}
