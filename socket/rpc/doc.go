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
//	srv.Drain(ctx) // GoAway, finish calls in flight, close
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
// no allocation on either side.
//
// Cancelling the call's context returns ctx.Err() at once and sends a
// cancel frame on the Caller's own lane, behind the request, which it can
// therefore never overtake; the handler's context is canceled. A server
// refusal or failure is an *Error (errors.Is with ErrOverloaded,
// ErrUnavailable, ErrNotFound, ...); a dead connection ends every pending
// call with a *ClosedError (errors.Is ErrClosed). A normal end of stream is
// io.EOF. The three are always distinguishable.
//
// Deadlines travel as a relative timeout (the two hosts' clocks need not
// agree); the handler's context carries the resulting deadline. Both sides
// enforce it, and either may notice first: the client's context (the call
// returns ctx.Err(), context.DeadlineExceeded, and sends Cancel) or the
// server's timer (the call returns an *Error with CodeDeadlineExceeded).
// Either way errors.Is(err, context.DeadlineExceeded) holds (the *Error
// matches it through its Is method); errors.As with *Error tells the
// server's answer apart when that matters.
// Metadata (key/value pairs) is optional and costs nothing when unused.
// ClientOptions.Interceptor and ServerOptions.Interceptor wrap unary calls
// on either side (logging, metrics, metadata, auth); unset, they cost
// nothing.
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
// ignored. The handler's context is valid until the handler returns (it
// is reused, which is how calls avoid allocating); do not keep it.
//
// # Streams
//
// OpenStream / HandleStream carry messages both ways. Each receiver grants
// credit (ClientOptions.StreamWindow, ServerOptions.StreamWindow) and
// grants it again as the application reads, so neither queue grows past
// its window; a peer that sends beyond its credit or overflows a grant
// ends the stream with CodeProtocol.
package rpc
