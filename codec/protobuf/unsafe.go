package protobuf

import (
	"reflect"
	"unsafe"
)

// stringAt returns the string field at byte offset off of the struct p
// points to. off comes from reflect.StructField.Offset of a field of kind
// String of that very struct type (vtPlan keeps both together), so the
// read is in bounds and typed.
func stringAt(p unsafe.Pointer, off uintptr) string { return *(*string)(unsafe.Add(p, off)) }

// structPointer returns the address of the struct a generated message
// pointer points to (m is a non-nil pointer to a struct: vtPlan checks).
func structPointer(m any) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }
