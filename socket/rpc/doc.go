// Package rpc is protosocket's RPC layer over socket/: unary calls,
// fire-and-forget, server, client and bidirectional streams with credit
// flow control, cancellation and deadlines on the wire, typed errors, and
// graceful drain. What you encode is what is on the wire, after the
// 16-byte frame header (docs/rpc-wire.md describes every byte).
//
// # Usage
//
// Server:
//
//	srv, _ := rpc.NewServer(rpc.ServerOptions{})
//	srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
//		return append(dst, req...), nil
//	}, rpc.Inline) // or rpc.Pooled for handlers that block
//	go srv.Serve(ctx, ln)
//	...
//	srv.Drain(ctx) // GoAway, finish every call already sent, close
//
// Client:
//
//	c, _ := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{})
//	k, _ := c.NewCaller() // one per calling goroutine: own lane, own slot
//	defer k.Close()
//	resp, err = k.Call(ctx, 1, req, resp[:0])
//
// # Calls
//
// A call's id is the frame's stream id: the index of a slot in the
// client's preallocated slot table plus a generation, so a reply that
// arrives after its call was canceled (the slot has moved on to a new
// generation) is ignored. The connection's reader copies the response into
// the caller's dst and wakes it; with a reused Caller and dst a call makes
// no allocation on the client, and none on the server with
// ServerOptions.ReuseContexts (by default the server allocates one small
// object per call: the handler's context, safe to keep; see Lifetimes).
//
// Cancelling the call's context returns ctx.Err() at once and sends a
// cancel frame on the Caller's own lane, behind the request, which it can
// therefore never overtake; the handler's context is canceled.
//
// One exception: a request above the copy threshold (16 KiB) is sent by
// reference, so a call cannot return while its request is being written
// (the connection reads the caller's slice until then). One still queued
// is withdrawn at once; one partly written is waited for at most
// ClientOptions.CancelWriteGrace (1 s). If the write has not ended by
// then the server is not reading: the client closes the connection, whose
// cause is a *RequestAbandonedError (errors.Is ErrRequestAbandoned), the
// call returns ctx.Err(), and every other call in flight on that
// connection ends with a *ClosedError (ErrClosed: it may have run). A
// negative CancelWriteGrace waits for the write instead.
//
// Deadlines travel as a relative timeout (the two hosts' clocks need not
// agree); the handler's context carries the resulting deadline. Both sides
// enforce it, and either may notice first: the client's context (the call
// returns ctx.Err(), context.DeadlineExceeded, and sends Cancel) or the
// server's timer (the call returns an *Error with CodeDeadlineExceeded).
// Either way errors.Is(err, context.DeadlineExceeded) holds (the *Error
// matches it through its Is method); errors.As with *Error tells the
// server's answer apart when that matters.
// Metadata (key/value pairs) is optional and costs nothing when unused:
// request metadata with Caller.CallMetadata and OpenStream; response
// headers and trailers with SetHeader and SetTrailer on the server,
// WithResponseMetadata and ClientStream.Header / Trailer on the client.
// ClientOptions.Interceptor and ServerOptions.Interceptor wrap unary
// calls on either side (logging, metrics, metadata, auth);
// StreamInterceptor on both wraps streams; the Chain functions combine
// several. Unset, they cost nothing. CallInfoFrom(ctx).Conn gives a
// handler the peer's address and TLS state; ServerOptions.OnConnect and
// OnDisconnect run per connection (authentication, per-connection state).
//
// # Errors
//
// Every error a call or stream returns (here and in package balance) is
// in exactly one class; test them in this order (docs/guide.md, "Errors",
// lists every source):
//
//	errors.Is(err, ErrUnavailable)   not processed: safe to retry elsewhere
//	                                 (draining or overloaded server; a call
//	                                 not sent: GoAway seen, connection
//	                                 closed, no slot, queue full)
//	errors.Is(err, ErrClosed)        the connection died with the call in
//	                                 flight: it may have run (*ClosedError);
//	                                 or a Caller, stream or Pool used after
//	                                 its Close
//	errors.As(err, &e) (e *Error)    the server's answer, with a Code
//	                                 (gRPC's codes and numbers; a sentinel
//	                                 per code: ErrNotFound, ...), a
//	                                 Message and optional Details
//	errors.Is(err, context.Canceled) the call's ctx ended (DeadlineExceeded
//	  or context.DeadlineExceeded    too; an *Error with CodeDeadlineExceeded
//	                                 matches it as well)
//
// A normal end of stream is io.EOF, not an error.
//
// # Server
//
// Handlers are registered by method (the frame's message type id). An
// Inline handler runs on the connection's reader: cheapest, for handlers
// that do not block. A Pooled handler runs on the server's bounded worker
// pool; at ServerOptions.MaxInFlight pooled calls on a connection the next
// is answered with CodeOverloaded at once (no queue grows). The reader
// never waits for a free worker (a call waits for one off the reader), so
// it keeps reading Cancel frames and the peer's close; when the
// connection closes every call's context is canceled, fire-and-forget
// calls included. An Inline handler's response goes out through
// socket.Conn.Reply: the responses to one read batch leave together, in
// one writev by the reader. A request whose
// id is in flight is refused with CodeProtocol; frames for unknown ids are
// ignored. A request over ServerOptions.MaxRequestSize is answered with
// CodeResourceExhausted and the connection goes on. A call's deadline
// counts from its request's arrival; a call whose deadline passed before
// its handler would start (behind other calls, Inline or Pooled) is
// answered with CodeDeadlineExceeded and its handler does not run.
//
// # Oversized frames
//
// A frame over Socket.MaxFrameSize fails only its call or stream, on
// either side: this package reads in the frame layer's skip mode
// (socket.Options.Oversized is socket.OversizedSkip unless set), so such
// a frame arrives as its header alone while its bytes are discarded as
// they arrive (memory stays at one read slab). The server answers an
// oversized request or stream opening with CodeResourceExhausted naming
// its limit (not processed), drops an oversized fire-and-forget
// (ServerStats.TooLarge counts both) and ends a stream whose message is
// oversized with CodeResourceExhausted. The client fails a call whose
// response is over its own Socket.MaxFrameSize with CodeResourceExhausted
// naming that limit (the call ran), and ends and cancels a stream whose
// message is. A frame over Socket.MaxSkipSize (frame.DefaultMaxSkipSize,
// 1 GiB) still closes the connection with socket.ErrFrameTooLarge;
// socket.OversizedClose restores closing for every oversized frame.
// Package compat keeps closing the connection, as protosocket-rpc does.
//
// One connection holds a bounded share of what the server shares
// (docs/memory.md): at most ServerOptions.ConnWorkers workers (its further
// Pooled calls wait in its own queue); request copies up to
// MaxConnRequestBytes (and all connections MaxServerRequestBytes), past
// which a call is refused with CodeOverloaded, not processed; stream
// messages buffered up to MaxConnStreamBytes, past which the stream ends
// with CodeResourceExhausted (the count includes, per stream, less than
// 64 KiB already read and not yet given back: a stream may end that much
// early, never late). A peer that stops reading its replies is
// closed after ReplyTimeout (ServerStats.WriteTimeouts).
//
// # Lifetimes
//
// A handler's req and dst are borrowed until it returns (under the
// psdebug build tag released buffers are poisoned). Its ctx may be kept:
// once the handler returns it reads as canceled for good and never shows
// another call (one small allocation per call);
// ServerOptions.ReuseContexts trades that for zero allocations, and under
// psdebug a reused ctx used after its handler returned panics.
//
// A Call's req is borrowed until Call returns and never touched after;
// above the copy threshold it is sent by reference, so it must not
// change while Call runs, and a canceled Call may close its connection
// to get it back (ClientOptions.CancelWriteGrace, see Calls).
//
// # Drain
//
// Server.Drain loses no call: GoAway and a Ping; the server serves what
// the client sent until its Pong, refuses later requests with
// CodeUnavailable (not processed), ends open streams with CodeUnavailable
// (handlers see ServerStream.Draining first), and the client closes the
// connection when its last reply has arrived. docs/guide.md, "Drain",
// gives the sequence; docs/rpc-wire.md the frames.
//
// # Streams
//
// OpenStream / HandleStream carry messages both ways. Each receiver grants
// credit (ClientOptions.StreamWindow, ServerOptions.StreamWindow) and
// grants it again as the application reads, so neither queue grows past
// its window; a peer that sends beyond its credit or overflows a grant
// ends the stream with CodeProtocol.
//
// SendMany (ServerStream, ClientStream) sends a run of messages with one
// lane lock and one queue item for as many as the peer's credit allows at
// once; Buffered tells how many Recv returns without waiting, so a
// handler can answer what it has in one SendMany (ExampleServerStream_SendMany).
// Both readers, the server's and the client's, take a whole read batch at
// once (socket.BatchReactor): a run of one stream's messages in a batch
// is queued with one lock and one wake-up, and a server call with a
// timeout counts its deadline from the time its batch was read
// (serverbatch.go, clientbatch.go).
package rpc
