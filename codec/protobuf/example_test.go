package protobuf_test

import (
	"fmt"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
)

func ExampleAppendDelimited() {
	b, err := protobuf.AppendDelimited(nil, &echo.EchoRequest{RequestId: 7, Message: "hi"})
	fmt.Printf("% x %v\n", b, err)

	body, n, err := protobuf.SplitDelimited(b, 0)
	var m echo.EchoRequest
	if err == nil {
		err = protobuf.Unmarshal(body, &m)
	}
	fmt.Println(n, m.GetRequestId(), m.GetMessage(), err)
	// Output:
	// 06 08 07 1a 02 68 69 <nil>
	// 7 7 hi <nil>
}
