package rpc

import (
	"fmt"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Frames over the frame limit (this file owns the rule). The connections
// of Servers and Clients read in the frame layer's skip mode
// (socket.OversizedSkip is this package's default for Socket.Oversized),
// so a frame over Socket.MaxFrameSize (and within Socket.MaxSkipSize,
// frame.DefaultMaxSkipSize by default) arrives as its header alone, marked
// Oversized, while its bytes are discarded as they arrive; it fails only
// the call or stream it belongs to:
//
//	server, wire.KindRequest / wire.KindStreamOpen   answered CodeResourceExhausted, naming the limit; not processed
//	server, wire.KindFireAndForget              dropped, counted in ServerStats.TooLarge
//	server, wire.KindStreamMessage / wire.KindEnd    that stream ends with CodeResourceExhausted
//	client, a unary call's answer          that call fails with CodeResourceExhausted (the call ran)
//	client, a stream's frame               that stream ends with CodeResourceExhausted (and is canceled)
//
// Anything else oversized (cancels, pings, credit: frames that never carry
// a large payload) is ignored and counted in ServerStats.Ignored. Other
// calls on the connection go on. A frame over Socket.MaxSkipSize still
// closes the connection (socket.ErrFrameTooLarge).

// skipOversizedByDefault makes a zero Socket.Oversized this package's
// default, socket.OversizedSkip.
func skipOversizedByDefault(so *socket.Options) {
	if so.Oversized == socket.OversizedDefault {
		so.Oversized = socket.OversizedSkip
	}
}

// onOversized answers a frame over the server's frame limit (reader
// goroutine).
func (sc *serverConn) onOversized(conn *socket.Conn, h frame.Header) {
	s := sc.srv
	limit := s.maxFrameSize()
	switch h.Kind {
	case wire.KindRequest, wire.KindStreamOpen:
		s.stats.tooLarge.Add(1)
		sc.replyError(conn, h.Stream, h.Type, CodeResourceExhausted,
			fmt.Sprintf("request of %d bytes over the server's maximum frame size of %d bytes (ServerOptions.Socket.MaxFrameSize); not processed", h.Length, limit))
	case wire.KindFireAndForget:
		s.stats.tooLarge.Add(1)
	case wire.KindStreamMessage, wire.KindEnd:
		sc.mu.Lock()
		var st *serverStream
		if c := sc.lookup(h.Stream); c != nil {
			st = c.stream
		}
		sc.mu.Unlock()
		if st == nil {
			s.stats.ignored.Add(1)
			return
		}
		s.stats.tooLarge.Add(1)
		st.endWith(CodeResourceExhausted,
			fmt.Sprintf("stream message of %d bytes over the server's maximum frame size of %d bytes (ServerOptions.Socket.MaxFrameSize); stream ended", h.Length, limit))
	default:
		s.stats.ignored.Add(1)
	}
}

// onOversized fails the call or stream a frame over the client's frame
// limit belongs to (reader goroutine); a frame for no call is ignored.
func (c *Client) onOversized(conn *socket.Conn, h frame.Header) {
	s := c.t.lookup(h.Stream)
	if s == nil {
		return
	}
	what := "response"
	switch h.Kind {
	case wire.KindError:
		what = "error response"
	case wire.KindHeader, wire.KindTrailer:
		what = "response metadata"
	case wire.KindStreamMessage:
		what = "stream message"
	}
	err := &Error{Code: CodeResourceExhausted,
		Message: fmt.Sprintf("%s of %d bytes over the client's maximum frame size of %d bytes (ClientOptions.Socket.MaxFrameSize); discarded", what, h.Length, c.maxFrame)}
	if st := s.streamFor(h.Stream); st != nil {
		if h.Kind != wire.KindError && h.Kind != wire.KindEnd { // the server has not ended it: tell it to stop
			c.reply(conn, frame.Header{Kind: wire.KindCancel, Stream: h.Stream, Type: st.core.method})
		}
		st.core.endAll(err)
		return
	}
	switch h.Kind {
	case wire.KindResponse, wire.KindPong, wire.KindError, wire.KindHeader, wire.KindTrailer:
		c.complete(s, h.Stream, nil, err)
	}
}

// validateSocket validates so as this package will use it (with its
// default for Oversized).
func validateSocket(so socket.Options) error {
	skipOversizedByDefault(&so)
	return so.Validate()
}
