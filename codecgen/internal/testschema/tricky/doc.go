// The package doc is generated from the schema's header comment.

package tricky

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o tricky_codec.go -tests tricky_codec_test.go tricky.schema
