// Package pbecho holds the messages of protosocket's example-proto as
// protobuf-go generated code (../example.proto). Regenerate from the
// repository root with
//
//	protoc --go_out=. --go_opt=module=github.com/protosocket-go/protosocket examples/rustecho/example.proto
package pbecho
