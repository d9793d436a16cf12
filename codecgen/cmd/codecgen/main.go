// Command codecgen generates Go readers and builders from a protosocket
// schema and checks schema changes for compatibility.
//
// Usage:
//
//	codecgen gen [-o out.go] [-tests out_test.go] schema.schema
//	codecgen check old.schema new.schema
//
// gen writes the generated code (default: the schema's base name with
// _codec.go) and, with -tests, a generated round-trip and fuzz test file.
// check prints every incompatible change as file:line: message and exits
// with status 1 if there is any, so CI can block breaking changes. Schema
// errors are printed as file:line:col: message (exit status 2).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/protosocket-go/protosocket/codecgen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: codecgen gen [-o out.go] [-tests out_test.go] SCHEMA\n       codecgen check OLD NEW")
		return 2
	}
	switch args[0] {
	case "gen":
		return gen(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "codecgen: unknown command %q (want gen or check)\n", args[0])
	return 2
}

func gen(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output file (default SCHEMA base name + _codec.go)")
	tests := fs.String("tests", "", "also write a generated test file here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "codecgen gen: want exactly one schema file")
		return 2
	}
	path := fs.Arg(0)
	s, err := codecgen.ParseFile(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	src, err := codecgen.Generate(s)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, ".schema") + "_codec.go"
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *tests != "" {
		tsrc, err := codecgen.GenerateTests(s)
		if err == nil {
			err = os.WriteFile(*tests, tsrc, 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}

func check(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "codecgen check: want OLD and NEW schema files")
		return 2
	}
	old, err := codecgen.ParseFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cur, err := codecgen.ParseFile(args[1])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	bad := codecgen.Check(old, cur)
	for _, e := range bad {
		fmt.Fprintln(stdout, e)
	}
	if len(bad) > 0 {
		fmt.Fprintf(stderr, "codecgen: %d incompatible change(s)\n", len(bad))
		return 1
	}
	return 0
}
