package pool_test

import (
	"fmt"

	"github.com/protosocket-go/protosocket/pool"
)

func ExampleSlabPool() {
	p := pool.NewSlabPool(pool.Options{}) // zero value: 4 KiB .. 1 MiB classes
	s := p.Get(5000)                      // rounded up to the 8 KiB class
	n := copy(s.Bytes(), "hello")
	fmt.Println(len(s.Bytes()), string(s.Bytes()[:n]))

	s.Retain()  // a second owner, e.g. a handler keeping a frame
	s.Release() // the handler is done
	s.Release() // the last Release returns the slab to its class
	fmt.Println(p.Stats().SlabsInUse)
	// Output:
	// 8192 hello
	// 0
}

func ExampleGetBuffer() {
	b := pool.GetBuffer()
	b.B = append(b.B, "encoded message"...)
	fmt.Println(b.Len())
	pool.PutBuffer(b) // reset and pooled (dropped if over MaxBufferSize)
	// Output: 15
}
