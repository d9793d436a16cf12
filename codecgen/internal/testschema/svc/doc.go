package svc

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o svc_codec.go -tests svc_codec_test.go svc.schema
