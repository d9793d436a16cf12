package wire_test

import (
	"fmt"

	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

func ExampleAppendOpening() {
	b, _ := wire.AppendOpening(nil, wire.KindRequest, 7, 42, wire.Prefix{}, []byte("hi"))
	fmt.Printf("% x\n", b)
	// Output:
	// 02 00 00 00 01 01 00 00 07 00 00 00 2a 00 00 00 68 69
}

func ExampleParsePrefix() {
	md, _ := wire.AppendPair(nil, "k", []byte("v"))
	p := wire.Prefix{Timeout: 1500000, Metadata: md}
	b, _ := wire.AppendPrefix(nil, p)
	b = append(b, "body"...)
	fmt.Printf("% x\n", b)
	got, body, err := wire.ParsePrefix(p.Flags(), b)
	_, v, _, _ := wire.NextPair(got.Metadata)
	fmt.Println(got.Timeout, string(v), string(body), err)
	// Output:
	// 60 e3 16 00 00 00 00 00 05 00 01 6b 01 00 76 62 6f 64 79
	// 1.5ms v body <nil>
}
