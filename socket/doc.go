// Package socket is protosocket's core: message-oriented connections over
// TCP, TLS and Unix sockets, a server and a client, built on pooled read
// slabs (pool, frame.Reader), per-sender queues (spillway) and batched
// writev (frame.Writer). The user supplies the wire format of payloads; the
// framing (frame.Default, frame.Varint, frame.Fixed32, frame.Lines) is an
// option.
//
// # Usage
//
// Server:
//
//	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
//	go socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
//		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
//			_ = c.Reply(m.Header, m.Payload) // copies the payload
//			return socket.Continue
//		})
//	}, socket.Options{})
//
// Client:
//
//	c, err := socket.Dial(ctx, "tcp", ln.Addr().String(), reactor, socket.Options{})
//	s := c.NewSender(nil) // one per sending goroutine
//	err = s.Send(ctx, frame.Header{Stream: 1}, payload)
//	...
//	s.Close()
//	c.Drain(ctx) // or c.Close()
//
// # Inbound
//
// One reader goroutine per connection waits for readability holding no
// buffer, reads into a pooled slab, splits frames and calls
// Reactor.OnMessage inline with a Message whose Payload is valid until
// OnMessage returns (Message.Retain keeps it; Release ends that). The
// reactor returns Continue or Disconnect. At Options.MaxUnfinished
// retained messages (or Conn.BeginWork units) the reader stops reading, so
// TCP pushes back on the peer.
//
// The reader works in read batches: every whole frame that one read brought
// in (on TCP and Unix sockets; one message on others, TLS among them). A
// BatchReactor takes a whole batch in one call, OnBatch, pulling its
// messages with Batch.Next and answering with Batch.Reply, whose checks are
// made once per batch, or Batch.ReplyAppend, whose append function writes
// the payload straight into the batch's reply buffer; Batch.Time is the
// batch's clock, read once. The Batch and its views are valid until
// OnBatch returns (under the psdebug tag a Batch used later panics). A
// plain Reactor's OnMessage is called for each message of the same batch,
// with the same bounds (MaxUnfinished, a stop) checked between messages. A
// batch that ends in the middle of a frame leaves that frame to the next
// read, as a read that ends there does: the frame.Reader stops where it
// would read and moves the partial frame only once OnBatch returned (in
// place, unless a message of the batch was retained).
//
// # Outbound
//
// A Sender is one spillway lane: Send copies the payload (a small one, up
// to MaxBatchedPayload, is framed at once into a batch buffer, and joins
// the Sender's batch still waiting in the queue if there is one: a burst
// of small messages is one queue item, and joining costs one lane lock,
// spillway's TryFold), SendBuffer hands a pool.Buffer
// over without a copy, SendEncoder lets an Encoder append the payload
// straight into the writer's buffer, SendRef lends a caller-owned payload
// by reference (a Ref, handed back by Ref.Wait once written, or taken
// back from the queue by Sender.Withdraw). A SendBatch (Sender.Batch)
// frames many messages ahead and queues them with one Send: one queue
// item and one lane lock for the lot. Conn.Reply, called from OnMessage,
// frames each reply into a buffer of the reader's; on TCP and Unix
// sockets the reader writes the replies of a read batch itself, in one
// writev, before it reads or waits again (or queues them as one item when
// a writer goroutine runs). Otherwise a writer goroutine is started
// when a message is queued and no writer runs; it takes whole batches off
// the queue, encodes them into the frame.Writer and flushes when the queue
// is empty (or Options.WriteBatchBytes are buffered): one writev for many
// frames, large payloads by reference, coalesced into one Write for TLS.
// It exits when the queue is empty, so idle connections have no writer.
//
// An idle TCP connection holds no read slab, no writer goroutine and no
// writer state (it goes back to a pool when the writer exits), and once
// every Sender is closed no outbound queue: measured over 1000 idle
// connections (TestIdleMemoryPerConn) about 3.5-3.8 KiB of Go memory per
// Conn, heap plus the reader's 2 KiB stack, used or not. Connections
// dialled with equal Options share one copy of them, and Closed's channel
// is made only when asked for. A reader whose
// stack grew while dispatching moves to a fresh goroutine once it has
// waited 100 ms, so an idle reader's stack is back to 2 KiB while a busy
// one does not pay for the move.
//
// The queue is bounded (Options.QueueMessages per lane, Options.QueueBytes
// in all): a full queue blocks the sender (with its context) or, with
// Options.FailWhenFull, fails it with ErrBackpressure.
//
// Every message whose send returned nil is either written or reported to
// the failure callback (NewSender's, or Options.OnSendFailure), exactly
// once, even when the connection closes.
//
// # Lifetimes
//
// What a connection lends to user code, or borrows from it, and how the
// psdebug build tag catches a use past the lifetime (the test that shows
// it in brackets):
//
//   - Message.Payload: until OnMessage returns; Retain keeps it until
//     Release. A kept one reads as poison once its slab is released
//     (TestPayloadLifetimeDebug); Retain after that panics with
//     pool.MsgRetainAfterRelease (TestRetainAfterCallbackPanicsWithMessage),
//     a second Release with pool.MsgDoubleRelease
//     (TestMessageDoubleReleaseDebug).
//   - A Batch and the Payloads of its messages: until OnBatch returns. A
//     kept Batch panics when used (Next, Reply, ReplyAppend, Time) with
//     MsgBatchAfterReturn (TestBatchAfterReturnDebug); a kept Payload
//     reads as poison (TestBatchPayloadLifetimeDebug).
//   - Batch.ReplyAppend's dst and the slice the append function returns:
//     during the append function. Written later, the batch's next reply or
//     its end panics with MsgReplyAppendDstKept; read after the write, it
//     is poison (TestReplyAppendDstKeptDebug).
//   - Encoder.AppendPayload's dst: during the call; then poison
//     (TestEncoderDstKeptDebug, TestEncoderDstPoisonedAfterCopyDebug).
//   - Failure.Payload: during the failure callback; then poison
//     (TestFailurePayloadKeptDebug).
//   - SendBuffer's buffer: the connection's from the call on; poison once
//     written or failed (TestSendBufferKeptDebug).
//   - SendRef's head and body: the connection's until Ref.Wait returns
//     nil, Withdraw reports true or Abandon returns. Changed meanwhile,
//     Wait, Withdraw or Abandon panics naming itself
//     (TestSendRefChangedDebug).
//   - Send's and SendBatch.Append's payloads are copied before they
//     return.
//
// # Lifecycle and errors
//
// Close stops at once; Drain stops reading, writes what is queued and
// closes; both wait for the goroutines. Closed returns a channel closed at
// the end, Err the cause. Errors match ErrClosed, ErrFrameTooLarge,
// ErrProtocol (a *ProtocolError, which also unwraps to the *frame.Error),
// ErrBackpressure, ErrIdleTimeout, ErrFrameTimeout, ErrWriteTimeout,
// ErrHandshakeTimeout, ErrDisconnected with errors.Is; the timeouts report
// Timeout() true.
//
// # Bounds a peer cannot lift
//
// Every connection must complete a started frame within
// Options.FrameTimeout (30 s by default). A server's connections close
// after Options.IdleTimeout without a whole frame (5 minutes by default),
// and a server holds at most Options.MaxConns connections (10,000 by
// default). A TLS server connection takes one of the Options.MaxHandshakes
// handshake slots only once its first byte has arrived, within
// Options.FirstByteTimeout (3 s by default): connections that never send a
// ClientHello hold no slot. Negative values turn each bound off.
//
// # Layout
//
// Each invariant has one owner, in its own file: conn.go (the Conn and its
// lifecycle), readloop.go (the reader goroutine), reader.go (the
// non-blocking source), deadline.go (the read deadline, the only caller of
// SetReadDeadline), handshake.go, wtoken.go (the write token: who may
// write), writer.go (the writer side), queue.go (the outbound queue's
// lifecycle), sender.go (Senders, SendBatch), reply.go (reply batching),
// batch.go (read batches: Batch, BatchReactor), batchbuf.go. Scheduler
// heuristics are in internal/sched, raw socket code in internal/netfd.
//
// # Observability
//
// Conn.Stats reads per-connection counters with atomic loads. A
// *slog.Logger in Options receives connection events (log.go): accepted,
// established and closed (both addresses, the side, the cause; Info when
// the cause is not routine), rejected (MaxConns, a nil reactor) and accept
// failures; with none, no logging code runs.
package socket
