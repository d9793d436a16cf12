package protobuf_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
)

func BenchmarkAppendDelimited(b *testing.B) {
	b.ReportAllocs()
	m := &echo.EchoResponse{RequestId: 12345, Message: "a small echo reply", Seq: 3}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		var err error
		if buf, err = protobuf.AppendDelimited(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalReuse(b *testing.B) {
	b.ReportAllocs()
	body, _ := protobuf.Append(nil, &echo.EchoResponse{RequestId: 12345, Code: echo.Control_END, Seq: 3})
	var m echo.EchoResponse
	for b.Loop() {
		if err := protobuf.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompatCall: one compat round trip (client and server in this
// process, one caller), Inline and Pooled servers.
func BenchmarkCompatCall(b *testing.B) {
	for _, mode := range []compat.Mode{compat.Inline, compat.Pooled} {
		b.Run([]string{"pooled", "inline"}[mode], func(b *testing.B) {
			cl := startCompat(b, compat.Options{Mode: mode})
			req := &echo.EchoRequest{Message: "steady"}
			var resp echo.EchoResponse
			b.ReportAllocs()
			for b.Loop() {
				if err := cl.Call(context.Background(), req, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCodecPaths compares, per message, the vtprotobuf methods that
// Append and Unmarshal use when a message has them with protobuf-go's
// generic fast path (what they use otherwise), on protoecho's EchoResponse.
//
//	go test -run XXX -bench CodecPaths -count 5 ./codec/protobuf/
func BenchmarkCodecPaths(b *testing.B) {
	m := &echo.EchoResponse{RequestId: 12345, Message: "a small echo reply", Seq: 3}
	body, _ := proto.Marshal(m)
	buf := make([]byte, 0, 64)
	var into echo.EchoResponse
	b.Run("append/vtprotobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = protobuf.Append(buf[:0], m)
		}
	})
	b.Run("append/protobuf-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = proto.MarshalOptions{Deterministic: true}.MarshalAppend(buf[:0], m)
		}
	})
	b.Run("unmarshal/vtprotobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = protobuf.Unmarshal(body, &into)
		}
	})
	b.Run("unmarshal/protobuf-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			proto.Reset(&into)
			_ = proto.UnmarshalOptions{}.Unmarshal(body, &into)
		}
	})
}
