package protobuf_test

import (
	"testing"

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
