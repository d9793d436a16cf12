package compatsys

import "unsafe"

// view returns b as a string without a copy. The caller uses it only
// while b does not change: Caller.Call puts it in the request's message
// field, which compat.Client.Call encodes before it returns, and the load
// loop does not touch the request during Call.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
