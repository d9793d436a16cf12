// Package codec benchmarks codecgen's generated flyweight code against
// google.golang.org/protobuf on a message shaped like the SmallStruct of
// go_serialization_benchmarks (Name, BirthDay, Phone, Siblings, Spouse,
// Money), and on a message with nested groups shaped like SBE's Car
// example (bench.schema, car.proto).
//
// Regenerate with go generate (the protoc line needs protoc and
// protoc-gen-go v1.36.12 on PATH).
package codec

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o bench_codec.go -tests bench_codec_test.go bench.schema
//go:generate protoc --go_out=. --go_opt=paths=source_relative smallstruct.proto car.proto
