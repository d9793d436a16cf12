//go:build !psdebug

package compat

import "context"

// psdebug reports whether the binary was built with -tags psdebug.
const psdebug = false

// lend returns the context a handler gets for c; without psdebug, c itself.
func lend(c *callCtx) (context.Context, func()) { return c, func() {} }
