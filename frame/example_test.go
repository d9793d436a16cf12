package frame_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/protosocket-go/protosocket/frame"
)

func ExampleAppendFrame() {
	b, err := frame.AppendFrame(nil, frame.Header{Stream: 7, Type: 42}, []byte("hello"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	h, _ := frame.ParseHeader(b)
	fmt.Println(h.Length, h.Stream, h.Type, string(b[h.Size():]))
	// Output:
	// 05 00 00 00 01 00 00 00 07 00 00 00 2a 00 00 00 68 65 6c 6c 6f
	// 5 7 42 hello
}

func ExampleReader() {
	var wire []byte
	for i, s := range []string{"ping", "pong"} {
		wire, _ = frame.AppendFrame(wire, frame.Header{Stream: uint32(i), Flags: frame.FlagCRC}, []byte(s))
	}
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{})
	defer r.Close()
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		// f.Payload is valid until the next call to Next (or f.Retain it).
		fmt.Println(f.Header.Stream, string(f.Payload))
	}
	// Output:
	// 0 ping
	// 1 pong
}

func ExampleWriter() {
	var out bytes.Buffer
	w := frame.NewWriter(&out, frame.WriterOptions{Framing: frame.Lines})
	for _, s := range []string{"HELLO", "WORLD"} {
		if err := w.WriteFrame(frame.Header{}, []byte(s)); err != nil {
			panic(err)
		}
	}
	fmt.Println(w.BufferedFrames(), w.Buffered())
	if err := w.Flush(); err != nil { // one Write for the whole batch
		panic(err)
	}
	fmt.Printf("%q %d\n", out.String(), w.Stats().Syscalls)
	// Output:
	// 2 12
	// "HELLO\nWORLD\n" 1
}

func ExampleFraming() {
	var buf bytes.Buffer
	w := frame.NewWriter(&buf, frame.WriterOptions{Framing: frame.Varint})
	_ = w.WriteFrame(frame.Header{}, []byte("protobuf message"))
	_ = w.Flush()
	fmt.Printf("% x\n", buf.Bytes()[:1])

	sp, err := frame.Varint.Split(buf.Bytes()[:5], frame.DefaultMaxFrameSize)
	fmt.Println(sp.Kind == frame.NeedMore, sp.N, err)
	sp, err = frame.Varint.Split(buf.Bytes(), frame.DefaultMaxFrameSize)
	fmt.Println(sp.Kind == frame.Complete, sp.N, string(buf.Bytes()[sp.Off:sp.Off+sp.Len]), err)
	// Output:
	// 10
	// true 12 <nil>
	// true 17 protobuf message <nil>
}

// A Reader in skip mode hands a frame over MaxFrameSize up as its header
// alone, discards its bytes, and reads on.
func ExampleReaderOptions_skipOversized() {
	var wire []byte
	wire, _ = frame.AppendFrame(wire, frame.Header{Stream: 1}, []byte("small"))
	wire, _ = frame.AppendFrame(wire, frame.Header{Stream: 2}, make([]byte, 5000))
	wire, _ = frame.AppendFrame(wire, frame.Header{Stream: 3}, []byte("after"))
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{MaxFrameSize: 1024, SkipOversized: true})
	defer r.Close()
	for {
		f, err := r.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		if f.Oversized {
			fmt.Printf("stream %d: %d bytes over the limit, skipped\n", f.Header.Stream, f.Header.Length)
			continue
		}
		fmt.Printf("stream %d: %s\n", f.Header.Stream, f.Payload)
	}
	// Output:
	// stream 1: small
	// stream 2: 5000 bytes over the limit, skipped
	// stream 3: after
	// EOF
}
