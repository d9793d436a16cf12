//go:build !unix

package netfd

// Supported reports whether this platform has the raw paths (non-blocking
// read, peek, writev): not here. RawConn returns nil, so callers never
// reach Read or Peek.
const Supported = false

// Read is not available on this platform: it returns ErrUnsupported.
func Read(uintptr, []byte) (int, error) { return 0, ErrUnsupported }

// Peek is not available on this platform: it returns ErrUnsupported.
func Peek(uintptr, *byte) error { return ErrUnsupported }

// SetReusePort is not available on this platform: it returns
// ErrUnsupported.
func SetReusePort(uintptr) error { return ErrUnsupported }

// Listen is not available on this platform: it returns ErrUnsupported.
func Listen(uintptr, int) error { return ErrUnsupported }

// Readable is not available on this platform: it returns ErrUnsupported.
func Readable(uintptr) (bool, error) { return false, ErrUnsupported }
