package msgpack_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/protosocket-go/protosocket/codec/msgpack"
	"github.com/protosocket-go/protosocket/examples/rustecho/mpecho"
)

// FuzzDecode feeds any bytes to the framing, Peek and Parse of both
// message types: each gives a typed *msgpack.Error or a message that
// re-encodes and parses back equal (and Peek agrees with it); never a
// panic. Seeds come from the encoder.
func FuzzDecode(f *testing.F) {
	for _, m := range []interface{ MarshalMsg([]byte) ([]byte, error) }{
		&mpecho.Request{RequestID: 300, Body: &mpecho.EchoRequest{Message: "x", Nanotime: 5}},
		&mpecho.Request{RequestID: 1 << 40, Code: 1, ResponseBehavior: mpecho.Stream},
		&mpecho.Response{RequestID: 300, Code: 1},
		&mpecho.Response{RequestID: 7, Kind: mpecho.EchoResponseKind{Echo: &mpecho.EchoResponse{Message: "hello"}}},
		&mpecho.Response{RequestID: 8, Code: 2, Kind: mpecho.EchoResponseKind{Stream: &mpecho.EchoStream{Message: "s", Sequence: 3}}},
	} {
		b, err := m.MarshalMsg(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := msgpack.Framing.Split(b, 1<<16); err != nil {
			var me *msgpack.Error
			if !errors.As(err, &me) {
				t.Fatalf("untyped framing error %v", err)
			}
		}
		id, code, perr := msgpack.Peek(b)
		checkTyped(t, perr)
		var rq mpecho.Request
		roundTrip(t, b, &rq, &mpecho.Request{}, reqCodec{}.Parse, reqCodec{}.Append, id, uint32(code), perr)
		var rs mpecho.Response
		roundTrip(t, b, &rs, &mpecho.Response{}, respCodec{}.Parse, respCodec{}.Append, id, uint32(code), perr)
	})
}

func checkTyped(t *testing.T, err error) {
	var me *msgpack.Error
	if err != nil && !errors.As(err, &me) {
		t.Fatalf("untyped error %v", err)
	}
}

func roundTrip[M any, P interface {
	*M
	msgpack.Message
}](t *testing.T, b []byte, m, again P, parse func([]byte, *M) error, appendFn func([]byte, *M) ([]byte, error), id uint64, code uint32, perr error) {
	err := parse(b, m)
	checkTyped(t, err)
	if err != nil {
		return
	}
	if perr != nil || m.ID() != id || m.Control() != code {
		t.Fatalf("Peek %d/%d (%v), Parse %d/%d", id, code, perr, m.ID(), m.Control())
	}
	enc, err := appendFn(nil, m)
	if err != nil {
		t.Fatalf("a parsed message does not encode: %v", err)
	}
	if err := parse(enc, again); err != nil {
		t.Fatalf("re-encoded message does not parse: %v", err)
	}
	if !reflect.DeepEqual(m, again) {
		t.Fatalf("round trip changed %+v to %+v", m, again)
	}
}
