package socket

import (
	"reflect"
	"sync/atomic"
)

// Connections made by Dial and NewConn with the same Options share one
// copy of them (Conn.opts is never modified): a client that dials many
// connections with one Options value keeps one copy, not one per Conn
// (about 240 bytes each: TestIdleMemoryPerConn).

// lastOpts is the copy handed to the last connection made by Dial or
// NewConn. It outlives that connection: what the Options point to (a
// Logger, a SlabPool, a Budget) stays reachable until a Dial or NewConn
// with other Options replaces it (one Options value per process, at most).
var lastOpts atomic.Pointer[Options]

// sharedOptions returns a heap copy of o (defaults filled), the last one
// handed out when it equals o.
func sharedOptions(o *Options) *Options {
	if p := lastOpts.Load(); p != nil && sameOptions(p, o) {
		return p
	}
	p := new(Options)
	*p = *o
	lastOpts.Store(p)
	return p
}

// sameOptions reports whether a and b are equal field by field: a func
// field only when both are nil, an interface only when its dynamic value
// is comparable (pointers by identity). Fields added later are compared
// too; none can make two different option sets look the same.
func sameOptions(a, b *Options) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Kind() == reflect.Func {
			if !fa.IsNil() || !fb.IsNil() {
				return false
			}
			continue
		}
		if !fa.Comparable() || !fb.Comparable() || !fa.Equal(fb) {
			return false
		}
	}
	return true
}
