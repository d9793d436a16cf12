package echopb

//go:generate go run github.com/protosocket-go/protosocket/codecgen/cmd/codecgen gen -o echo.go -tests echo_test.go echo.schema
