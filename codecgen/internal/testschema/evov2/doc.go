// Package evov2 is generated from order.schema, version 2 of the schema
// used by the evolution-matrix tests.
package evov2

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o order_codec.go -tests order_codec_test.go order.schema
