package compatsys

import (
	"bytes"
	"testing"

	vmsgpack "github.com/vmihailenco/msgpack/v5"

	"github.com/protosocket-go/protosocket/codec/msgpack"
	"github.com/protosocket-go/protosocket/examples/rustecho/mpecho"
)

// vmRequest is mpecho.Request for vmihailenco/msgpack (the Encoder's
// UseArrayEncodedStructs gives rmp-serde's tuple form; the enum is its
// name, a string).
type vmRequest struct {
	RequestID        uint64
	Code             uint32
	Body             *vmEchoRequest
	ResponseBehavior string
}

type vmEchoRequest struct {
	Message  string
	Nanotime uint64
}

// BenchmarkMessagePackLibraries justifies codec/msgpack's library: one
// example-messagepack Request encoded and decoded (into a reused message)
// by tinylib/msgp's generated code and by vmihailenco/msgpack/v5
// (reflection, structs as arrays):
//
//	cd bench && go test -run XXX -bench MessagePackLibraries -count 3 ./internal/compatsys/
func BenchmarkMessagePackLibraries(b *testing.B) {
	m := &mpecho.Request{RequestID: 300, Body: &mpecho.EchoRequest{Message: "a small echo request", Nanotime: 1 << 40}}
	vm := &vmRequest{RequestID: 300, Body: &vmEchoRequest{Message: "a small echo request", Nanotime: 1 << 40}, ResponseBehavior: "Unary"}
	var c msgpack.Compat[mpecho.Request, *mpecho.Request]
	buf := make([]byte, 0, 128)
	b.Run("tinylib-msgp", func(b *testing.B) {
		b.ReportAllocs()
		var into mpecho.Request
		for b.Loop() {
			buf, _ = c.Append(buf[:0], m)
			if err := c.Parse(buf, &into); err != nil {
				b.Fatal(err)
			}
		}
	})
	// vmihailenco at its best: a reused Encoder with compact integers (as
	// rmp-serde writes them) and a reused Decoder.
	var out bytes.Buffer
	enc := vmsgpack.NewEncoder(&out)
	enc.UseCompactInts(true)
	enc.UseArrayEncodedStructs(true)
	var in bytes.Reader
	dec := vmsgpack.NewDecoder(&in)
	b.Run("vmihailenco-msgpack", func(b *testing.B) {
		b.ReportAllocs()
		var into vmRequest
		for b.Loop() {
			out.Reset()
			if err := enc.Encode(vm); err != nil {
				b.Fatal(err)
			}
			in.Reset(out.Bytes())
			dec.Reset(&in)
			if err := dec.Decode(&into); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Both write the same bytes.
	a, _ := c.Append(nil, m)
	out.Reset()
	_ = enc.Encode(vm)
	v := out.Bytes()
	if string(a) != string(v) {
		b.Fatalf("encodings differ: %x vs %x", a, v)
	}
}
