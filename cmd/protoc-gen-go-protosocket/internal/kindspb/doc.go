// Package kindspb is the plugin's test fixture: kinds.proto declares every
// method kind (unary, server, client and bidirectional streaming, a
// deprecated method) and a second service. kinds.pb.go comes from
// protoc-gen-go; kinds_protosocket.pb.go is protoc-gen-go-protosocket's
// golden output for it (cmd/protoc-gen-go-protosocket's TestGolden compares
// the plugin against it; go test -update there rewrites it). The tests
// here run the generated code over loopback.
package kindspb
