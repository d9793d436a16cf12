// The package doc is generated from the schema's header comment.

package people

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o people_codec.go -tests people_codec_test.go people.schema
