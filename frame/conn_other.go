//go:build !unix

package frame

import "syscall"

// rawConn returns nil: without x/sys/unix there is no peek or writev path,
// so Readers read into a slab and Writers coalesce.
func rawConn(any) syscall.RawConn { return nil }

func (r *Reader) peek(uintptr) bool { return true }

type iovec struct{}

const iovMax = 1024

const supportsWritev = false

func makeIovec([]byte) iovec { return iovec{} }

func (w *Writer) writevCall(uintptr) bool { return true }
