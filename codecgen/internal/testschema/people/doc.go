// Package people is generated from people.schema, a schema that uses every
// feature of the codecgen schema language; its tests compile and run the
// generated code.
package people

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o people_codec.go -tests people_codec_test.go people.schema
