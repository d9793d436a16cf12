package mpecho

//go:generate msgp -file messages.go -o messages_gen.go -tests=false

// The shapes of protosocket's example-messagepack (messages.rs), encoded
// as rmp-serde encodes them by default: each struct as an array of its
// fields in declaration order (msgp:tuple), an Option as nil or the value.
// ResponseBehavior and EchoResponseKind (Rust enums) are in enums.go.

//msgp:tuple Request EchoRequest Response EchoResponse EchoStream

// Request is a call: request_id, code, body (Option<EchoRequest>: nil
// means None), response_behavior.
type Request struct {
	RequestID        uint64
	Code             uint32
	Body             *EchoRequest
	ResponseBehavior ResponseBehavior
}

// EchoRequest is the request body.
type EchoRequest struct {
	Message  string
	Nanotime uint64
}

// Response is a reply: request_id, code, kind (Option<EchoResponseKind>).
type Response struct {
	RequestID uint64
	Code      uint32
	Kind      EchoResponseKind
}

// EchoResponse is the unary reply's kind.
type EchoResponse struct {
	Message  string
	Nanotime uint64
}

// EchoStream is one stream item's kind.
type EchoStream struct {
	Message  string
	Nanotime uint64
	Sequence uint64
}
