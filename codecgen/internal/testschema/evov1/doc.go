// The package doc is generated from the schema's header comment.

package evov1

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o order_codec.go -tests order_codec_test.go order.schema
