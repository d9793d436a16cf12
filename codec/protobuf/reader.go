package protobuf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"

	"google.golang.org/protobuf/proto"
)

// Reader reads delimited messages from a byte stream, as
// parseDelimitedFrom does, for peers that are not a socket.Conn (files,
// pipes, plain net.Conn clients). It is not safe for concurrent use.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader returns a Reader over r whose messages may be at most maxSize
// body bytes (0 means DefaultMaxSize). Its body buffer grows with the
// largest message read and is reused.
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{r: bufio.NewReader(r), max: maxSize}
}

// Read reads the next delimited message into m (reset first). At a clean
// end of stream it returns io.EOF; a stream that ends inside a message is
// ErrTruncated; otherwise errors are as for SplitDelimited and Unmarshal.
// The length is checked before the body is read or allocated.
func (r *Reader) Read(m proto.Message) error {
	n, err := r.readLength()
	if err != nil {
		return err
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return truncated(err, "body of %d bytes", n)
	}
	return Unmarshal(r.buf, m)
}

func (r *Reader) readLength() (int, error) {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := r.r.ReadByte()
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, truncated(err, "length prefix")
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, newError(ErrMalformedVarint, "", nil, "overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if v > uint64(r.max) {
			return 0, newError(ErrTooLarge, "", nil, "length %d or more exceeds maximum %d", v, r.max)
		}
		if c < 0x80 {
			return int(v), nil
		}
	}
	return 0, newError(ErrMalformedVarint, "", nil, "longer than %d bytes", binary.MaxVarintLen64)
}

func truncated(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(ErrTruncated, "", err, format, args...)
	}
	return err // an I/O error of the underlying reader, as it is
}
