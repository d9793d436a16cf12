package rpc

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Response metadata (headers and trailers) is the one owner of the
// wire.KindHeader and wire.KindTrailer frames: the server's SetHeader, SetTrailer
// and ServerStream.SendHeader, the client's WithResponseMetadata and
// ClientStream.Header and Trailer. A call that uses none of them sends
// and parses nothing extra (docs/rpc-wire.md, "Response metadata").

var (
	// ErrNotHandlerContext: SetHeader or SetTrailer with a ctx that is
	// not a live handler's (or a ctx kept past its handler).
	ErrNotHandlerContext = errors.New("rpc: not the context of a running handler")
	// ErrHeaderSent: SetHeader after the stream's header has gone (at its
	// first message or SendHeader).
	ErrHeaderSent = errors.New("rpc: response header already sent")
)

// ResponseMetadata receives a unary call's response header and trailer
// (see WithResponseMetadata). The client appends to Header and Trailer
// (reuse one with Header[:0] and Trailer[:0] for no allocation); they are
// complete when the call has returned without a ctx error. Each is at
// most wire.MaxMetadataSize bytes.
type ResponseMetadata struct {
	Header  Metadata
	Trailer Metadata
}

type respMDKey struct{}

// respMDUsed is set once anyone asks for response metadata: until then a
// call does not even look for it in its ctx.
var respMDUsed atomic.Bool

// WithResponseMetadata returns a ctx whose unary calls (Client.Call,
// Caller.Call and CallMetadata, balance.Pool.Call, through interceptors)
// collect the server's response header and trailer into rmd. One rmd
// serves one call at a time. It costs one context per call that uses it;
// calls that do not cost nothing.
func WithResponseMetadata(ctx context.Context, rmd *ResponseMetadata) context.Context {
	respMDUsed.Store(true)
	return context.WithValue(ctx, respMDKey{}, rmd)
}

func responseMetadataOf(ctx context.Context) *ResponseMetadata {
	if !respMDUsed.Load() {
		return nil
	}
	rmd, _ := ctx.Value(respMDKey{}).(*ResponseMetadata)
	return rmd
}

// liveCall returns the serverCall of a running handler's ctx.
func liveCall(ctx context.Context) (*serverCall, error) {
	switch v := ctx.Value(callInfoKey{}).(type) {
	case *serverCall:
		return v, nil
	case *callCtx:
		c := v.c
		c.mu.Lock()
		live := c.cur == v
		c.mu.Unlock()
		if live {
			return c, nil
		}
		v.misuse("SetHeader or SetTrailer")
	}
	return nil, ErrNotHandlerContext
}

// SetHeader adds a pair to the response header of the call whose handler
// (or server interceptor) holds ctx. A unary call's header goes out just
// before its response (or error); a stream's before its first message
// (or at its end, or at ServerStream.SendHeader), after which SetHeader
// returns ErrHeaderSent. Over wire.MaxMetadataSize in all it returns
// ErrMetadataTooLarge and adds nothing. value is copied.
func SetHeader(ctx context.Context, key string, value []byte) error {
	c, err := liveCall(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hdrSent.Load() {
		return ErrHeaderSent
	}
	return appendMD(&c.hdr, key, value)
}

// SetTrailer adds a pair to the response trailer of the call whose
// handler holds ctx: it goes out with the call's final status (just
// before the response, End or error frame). Over wire.MaxMetadataSize in all
// it returns ErrMetadataTooLarge and adds nothing. value is copied.
func SetTrailer(ctx context.Context, key string, value []byte) error {
	c, err := liveCall(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return appendMD(&c.trl, key, value)
}

func appendMD(md *Metadata, key string, value []byte) error {
	if len(*md)+1+len(key)+2+len(value) > wire.MaxMetadataSize {
		return ErrMetadataTooLarge
	}
	m, err := md.Append(key, value)
	if err != nil {
		return err
	}
	*md = m
	return nil
}

// SendHeader sends the stream's response header now (with what SetHeader
// added; possibly empty) instead of before the first message.
func (st *ServerStream) SendHeader() error {
	c := st.call
	c.mu.Lock()
	if c.hdrSent.Load() {
		c.mu.Unlock()
		return ErrHeaderSent
	}
	c.hdrSent.Store(true)
	c.mu.Unlock()
	return streamErr(st.core.snd.Send(context.Background(), frame.Header{Kind: wire.KindHeader, Stream: c.id, Type: c.method}, c.hdr))
}

// flushHeader sends a stream's pending header before its first message
// or its end; a no-op once sent or when none was set.
func (c *serverCall) flushHeader(snd *socket.Sender) {
	c.mu.Lock()
	sent := c.hdrSent.Load()
	c.hdrSent.Store(true)
	empty := len(c.hdr) == 0
	c.mu.Unlock()
	if sent || empty {
		return
	}
	_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindHeader, Stream: c.id, Type: c.method}, c.hdr)
}

// unaryMD returns the header and trailer a unary handler set (on the
// handler's goroutine, after it returned).
func (c *serverCall) unaryMD() (hdr, trl Metadata) {
	c.mu.Lock()
	hdr, trl = c.hdr, c.trl
	c.mu.Unlock()
	return hdr, trl
}

// onResponseMD handles a wire.KindHeader or wire.KindTrailer frame (reader
// goroutine) for the call or stream in s. A block that is malformed or
// takes the call's total over wire.MaxMetadataSize ends the call with
// CodeProtocol.
func (c *Client) onResponseMD(conn *socket.Conn, s *slot, h frame.Header, payload []byte) {
	bad := ""
	if err := wire.CheckMetadata(payload); err != nil {
		bad = "malformed response metadata"
	}
	if st := s.streamFor(h.Stream); st != nil {
		if bad == "" && !st.addMD(h.Kind == wire.KindTrailer, payload) {
			bad = "response metadata over wire.MaxMetadataSize"
		}
		if bad != "" {
			st.c.reply(conn, frame.Header{Kind: wire.KindCancel, Stream: h.Stream, Type: h.Type})
			st.core.endAll(&Error{Code: CodeProtocol, Message: bad})
		}
		return
	}
	// A unary call: write into the caller's ResponseMetadata while the
	// slot is held in stMeta (the caller cannot abandon it meanwhile).
	if s.stream.Load() != nil || !s.word.CompareAndSwap(word(h.Stream, stPending), word(h.Stream, stMeta)) {
		return
	}
	if rmd := s.rmd; rmd != nil && bad == "" {
		dst := &rmd.Header
		if h.Kind == wire.KindTrailer {
			dst = &rmd.Trailer
		}
		if len(*dst)+len(payload) > wire.MaxMetadataSize {
			bad = "response metadata over wire.MaxMetadataSize"
		} else {
			*dst = append(*dst, payload...)
		}
	}
	s.word.Store(word(h.Stream, stPending))
	if bad != "" {
		c.reply(conn, frame.Header{Kind: wire.KindCancel, Stream: h.Stream, Type: h.Type})
		c.complete(s, h.Stream, nil, &Error{Code: CodeProtocol, Message: bad})
	}
}

// addMD appends a received header or trailer block to the stream's;
// false when it would exceed wire.MaxMetadataSize.
func (st *ClientStream) addMD(trailer bool, b []byte) bool {
	st.core.mu.Lock()
	defer st.core.mu.Unlock()
	dst := &st.header
	if trailer {
		dst = &st.trailer
	}
	if len(*dst)+len(b) > wire.MaxMetadataSize {
		return false
	}
	*dst = append(*dst, b...)
	return true
}

// Header returns the response header the server sent (nil if none). It
// is complete once Recv has returned a message or the stream's end; the
// result is the stream's, valid until Close, not to be modified.
func (st *ClientStream) Header() Metadata {
	st.core.mu.Lock()
	defer st.core.mu.Unlock()
	return st.header
}

// Trailer returns the response trailer the server sent with the stream's
// end (nil if none): complete once Recv has returned io.EOF or an error
// (or Done is closed). Valid until Close, not to be modified.
func (st *ClientStream) Trailer() Metadata {
	st.core.mu.Lock()
	defer st.core.mu.Unlock()
	return st.trailer
}
