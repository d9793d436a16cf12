package kindspb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket/internal/kindspb"
	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// FuzzDispatch sends arbitrary bytes to the generated unary and bidi
// dispatch over loopback. A body that protobuf-go cannot decode as a Req
// must be answered with CodeInvalidArgument (never a panic, which the
// server would report as CodeInternal); one it can decode must be served
// as the request it is. Seeds come from the encoder.
func FuzzDispatch(f *testing.F) {
	for _, m := range []*kindspb.Req{{}, {Text: "hello", N: 3}, {Text: "app"}, {Text: "bad-utf8"}, {N: 1 << 31}} {
		b, err := protobuf.Append(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range hostile {
		f.Add(b)
	}
	c := dial(f, start(f, rpc.Pooled))
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var req kindspb.Req
		decodeErr := protobuf.Unmarshal(body, &req)

		resp, err := c.Call(ctx, kindspb.PSKinds_Unary_Method, body, nil)
		check(t, decodeErr, err)
		if decodeErr == nil && err == nil {
			var out kindspb.Resp
			if err := protobuf.Unmarshal(resp, &out); err != nil || out.Text != req.Text {
				t.Fatalf("unary: response %q (%v) for request text %q", out.Text, err, req.Text)
			}
		}

		st, err := c.OpenStream(ctx, kindspb.PSKinds_Bidi_Method, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Send(body); err != nil {
			t.Fatal(err)
		}
		resp, err = st.Recv(nil)
		if decodeErr != nil {
			if !errors.Is(err, rpc.ErrInvalidArgument) {
				t.Fatalf("bidi: undecodable request answered with %v", err)
			}
			return
		}
		var out kindspb.Resp
		if err != nil {
			// The echo of an invalid string cannot be encoded.
			if !errors.Is(err, rpc.ErrInternal) {
				t.Fatalf("bidi: %v", err)
			}
			return
		}
		if err := protobuf.Unmarshal(resp, &out); err != nil || out.Text != req.Text {
			t.Fatalf("bidi: response %q (%v) for request text %q", out.Text, err, req.Text)
		}
	})
}

// check: an undecodable request is CodeInvalidArgument; a decodable one
// is never refused as invalid, and never fails inside the generated code
// (CodeInternal is only for a response that cannot be encoded).
func check(t *testing.T, decodeErr, err error) {
	t.Helper()
	switch {
	case decodeErr != nil && !errors.Is(err, rpc.ErrInvalidArgument):
		t.Fatalf("undecodable request (%v) answered with %v", decodeErr, err)
	case decodeErr == nil && errors.Is(err, rpc.ErrInvalidArgument):
		t.Fatalf("decodable request refused: %v", err)
	}
}
