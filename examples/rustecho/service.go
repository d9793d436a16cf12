package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/protosocket-go/protosocket/codec/msgpack"
	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/rustecho/mpecho"
	"github.com/protosocket-go/protosocket/examples/rustecho/pbecho"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// errNoBody rejects a request without body, as the upstream servers do
// (RpcKind::Cancelled): the client gets Cancel.
var errNoBody = errors.New("rustecho: no request in rpc body")

// The protobuf (example-proto) service.

func protoCodecs() (*protobuf.Compat[pbecho.Request, *pbecho.Request], *protobuf.Compat[pbecho.Response, *pbecho.Response]) {
	reqc, err := protobuf.NewCompat[pbecho.Request](0, 0)
	if err != nil {
		panic(err) // request_id and code are fields 1 and 2
	}
	respc, err := protobuf.NewCompat[pbecho.Response](0, 0)
	if err != nil {
		panic(err)
	}
	return reqc, respc
}

// newProtoServer serves example-proto's service: UNARY echoes once,
// STREAM sends one EchoStream per byte of the message then End, no body
// is rejected with Cancel.
func newProtoServer(opts socket.Options) *compat.Server[pbecho.Request, pbecho.Response] {
	reqc, respc := protoCodecs()
	srv := compat.NewServer(reqc, respc, func(_ context.Context, req *pbecho.Request, resp *pbecho.Response) error {
		b := req.GetBody()
		if b == nil {
			return errNoBody
		}
		resp.Kind = &pbecho.Response_Echo{Echo: &pbecho.EchoResponse{Message: b.GetMessage(), Nanotime: b.GetNanotime()}}
		return nil
	}, compat.Options{Socket: opts, Mode: compat.Inline}) // the handler never blocks: run it on the reader
	srv.HandleStream(func(req *pbecho.Request) bool {
		return req.GetBody() != nil && req.GetResponseBehavior() == pbecho.ResponseBehavior_STREAM
	}, func(_ context.Context, req *pbecho.Request, s *compat.ServerStream[pbecho.Request, pbecho.Response]) error {
		item := &pbecho.EchoStream{Nanotime: req.GetBody().GetNanotime()}
		resp := &pbecho.Response{Kind: &pbecho.Response_Stream{Stream: item}}
		for i, c := range []byte(req.GetBody().GetMessage()) {
			item.Message, item.Sequence = string(rune(c)), uint64(i)
			if err := s.Send(resp); err != nil {
				return err
			}
		}
		return nil
	})
	return srv
}

// The MessagePack (example-messagepack) service, the same behaviour.

type (
	mpReq  = msgpack.Compat[mpecho.Request, *mpecho.Request]
	mpResp = msgpack.Compat[mpecho.Response, *mpecho.Response]
)

func msgpackOptions(opts socket.Options) compat.Options {
	opts.Framing = msgpack.Framing
	return compat.Options{Socket: opts, Mode: compat.Inline} // the handlers never block
}

func newMsgpackServer(opts socket.Options) *compat.Server[mpecho.Request, mpecho.Response] {
	srv := compat.NewServer[mpecho.Request, mpecho.Response](mpReq{}, mpResp{}, func(_ context.Context, req *mpecho.Request, resp *mpecho.Response) error {
		if req.Body == nil {
			return errNoBody
		}
		resp.Kind.Echo = &mpecho.EchoResponse{Message: req.Body.Message, Nanotime: req.Body.Nanotime}
		return nil
	}, msgpackOptions(opts))
	srv.HandleStream(func(req *mpecho.Request) bool {
		return req.Body != nil && req.ResponseBehavior == mpecho.Stream
	}, func(_ context.Context, req *mpecho.Request, s *compat.ServerStream[mpecho.Request, mpecho.Response]) error {
		item := &mpecho.EchoStream{Nanotime: req.Body.Nanotime}
		resp := &mpecho.Response{Kind: mpecho.EchoResponseKind{Stream: item}}
		for i, c := range []byte(req.Body.Message) {
			item.Message, item.Sequence = string(rune(c)), uint64(i)
			if err := s.Send(resp); err != nil {
				return err
			}
		}
		return nil
	})
	return srv
}

// exercise runs, against a server at addr speaking codec, what the
// upstream example clients do (a unary echo, a stream) and a rejection,
// printing each answer to w.
func exercise(ctx context.Context, w io.Writer, codec, addr string) error {
	switch codec {
	case "protobuf":
		reqc, respc := protoCodecs()
		cl, err := compat.Dial(ctx, "tcp", addr, reqc, respc, compat.Options{})
		if err != nil {
			return err
		}
		defer cl.Close()
		var resp pbecho.Response
		if err := cl.Call(ctx, &pbecho.Request{Body: &pbecho.EchoRequest{Message: "hello", Nanotime: 1}}, &resp); err != nil {
			return err
		}
		fmt.Fprintf(w, "protobuf unary: %q\n", resp.GetEcho().GetMessage())
		st, err := cl.Stream(ctx, &pbecho.Request{Body: &pbecho.EchoRequest{Message: "abc"}, ResponseBehavior: pbecho.ResponseBehavior_STREAM})
		if err != nil {
			return err
		}
		defer st.Close()
		for {
			r, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "protobuf stream: %q seq %d\n", r.GetStream().GetMessage(), r.GetStream().GetSequence())
		}
		err = cl.Call(ctx, &pbecho.Request{}, &resp)
		fmt.Fprintln(w, "protobuf no body:", err)
	case "messagepack":
		cl, err := compat.Dial[mpecho.Request, mpecho.Response](ctx, "tcp", addr, mpReq{}, mpResp{}, msgpackOptions(socket.Options{}))
		if err != nil {
			return err
		}
		defer cl.Close()
		var resp mpecho.Response
		if err := cl.Call(ctx, &mpecho.Request{Body: &mpecho.EchoRequest{Message: "hello", Nanotime: 1}}, &resp); err != nil {
			return err
		}
		fmt.Fprintf(w, "messagepack unary: %q\n", resp.Kind.Echo.Message)
		st, err := cl.Stream(ctx, &mpecho.Request{Body: &mpecho.EchoRequest{Message: "abc"}, ResponseBehavior: mpecho.Stream})
		if err != nil {
			return err
		}
		defer st.Close()
		for {
			r, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "messagepack stream: %q seq %d\n", r.Kind.Stream.Message, r.Kind.Stream.Sequence)
		}
		err = cl.Call(ctx, &mpecho.Request{}, &resp)
		fmt.Fprintln(w, "messagepack no body:", err)
	default:
		return fmt.Errorf("rustecho: unknown codec %q (protobuf or messagepack)", codec)
	}
	return nil
}
