// Package greeterpb holds the greeter service's messages (greeter.pb.go,
// from protoc-gen-go) and its protosocket stubs (greeter_protosocket.pb.go,
// from protoc-gen-go-protosocket), both generated from greeter.proto and
// committed. TestGeneratedIsFresh regenerates them with protoc when it is
// installed and fails if they differ.
//
// To regenerate (protoc from Debian's protobuf-compiler; the plugins built
// from this module):
//
//	go build -o /tmp/bin/ google.golang.org/protobuf/cmd/protoc-gen-go ./cmd/protoc-gen-go-protosocket
//	cd examples/greeter/greeterpb && PATH=/tmp/bin:$PATH protoc -I. \
//	    --go_out=. --go_opt=paths=source_relative \
//	    --go-protosocket_out=. --go-protosocket_opt=paths=source_relative greeter.proto
package greeterpb
