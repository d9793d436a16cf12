package cachepb

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o cache.go -tests cache_test.go cache.schema
