// Package codecgen parses protosocket schemas and generates Go code for
// zero-allocation flyweight readers and builders over the flyweight
// runtime.
//
// The schema language is described in docs/schema.md and the wire layout
// in docs/wire-flyweight.md. Parse (or ParseFile) returns a checked
// *Schema or an ErrorList whose entries point at file:line:col; Generate
// and GenerateTests return gofmt'd Go source; Check compares two versions
// of a schema and reports every incompatible change with file:line.
//
// A schema's service declarations generate typed socket/rpc stubs next to
// the messages (service_gen.go): a server interface taking flyweight views
// and response builders, Register<Service>, a client over *rpc.Client or
// balance.Pool, and stream handles; docs/guide.md walks through them with
// examples/cache.
//
// The command codecgen/cmd/codecgen wraps these for go:generate:
//
//	//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o people_codec.go -tests people_codec_test.go people.schema
//	go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen check old.schema new.schema
//
// Errors: schema errors unwrap to ErrSchema and incompatibilities to
// ErrIncompatible (errors.Is); use errors.As with *Error or
// *Incompatibility for positions.
package codecgen
