package protobuf_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
)

// FuzzCompatPeek: for any body Peek gives a typed error, or, when Parse
// accepts the body too, exactly the id and control Parse gives. (Peek may
// refuse what Parse accepts: vtprotobuf's decoder, which EchoRequest
// uses, skips unknown varints whose 10th byte overflows 64 bits, which
// protowire refuses; testdata has one.) Seeds come from the encoder.
func FuzzCompatPeek(f *testing.F) {
	for _, m := range []*echo.EchoRequest{
		{},
		{RequestId: 300, Message: "x"},
		{RequestId: 1 << 60, Code: echo.Control_CANCEL, StreamCount: 5, DelayMs: 10},
	} {
		b, err := protobuf.Append(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c, err := protobuf.NewCompat[echo.EchoRequest](0, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, code, perr := c.Peek(b)
		if perr != nil && !errors.Is(perr, protobuf.ErrDecode) {
			t.Fatalf("untyped error %v", perr)
		}
		var m echo.EchoRequest
		if err := c.Parse(b, &m); err != nil {
			return
		}
		if perr != nil {
			return
		}
		if id != c.ID(&m) || code != c.Control(&m) {
			t.Fatalf("Peek %d/%d, Parse %d/%d", id, code, c.ID(&m), c.Control(&m))
		}
	})
}

// FuzzDelimited feeds any bytes to SplitDelimited and Unmarshal: they give
// a typed error or a message that re-encodes and parses back equal; never
// a panic or a hang. Seeds come from the encoder.
func FuzzDelimited(f *testing.F) {
	for _, m := range []*echo.EchoRequest{
		{},
		{RequestId: 1, Message: "hello"},
		{RequestId: 1 << 60, Code: echo.Control_CANCEL, StreamCount: 5, DelayMs: 10},
	} {
		b, err := protobuf.AppendDelimited(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body, n, err := protobuf.SplitDelimited(b, 1<<16)
		if err != nil {
			var pe *protobuf.Error
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n == 0 {
			return // needs more bytes
		}
		if n > len(b) || len(body) > n {
			t.Fatalf("n %d body %d of %d bytes", n, len(body), len(b))
		}
		var m echo.EchoRequest
		if err := protobuf.Unmarshal(body, &m); err != nil {
			if !errors.Is(err, protobuf.ErrDecode) {
				t.Fatalf("untyped decode error %v", err)
			}
			return
		}
		again, err := protobuf.AppendDelimited(nil, &m)
		if err != nil {
			return // e.g. unknown fields kept, still encodable; invalid UTF-8 cannot reach here
		}
		body2, _, err := protobuf.SplitDelimited(again, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		var m2 echo.EchoRequest
		if err := protobuf.Unmarshal(body2, &m2); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&m, &m2) {
			t.Fatalf("round trip changed %v to %v", &m, &m2)
		}
	})
}
