package flyweight_test

import (
	"fmt"

	"github.com/protosocket-go/protosocket/flyweight"
)

// Build a record with a uint32 fixed field and a string slot, then
// validate it and read both back.
func Example() {
	var b flyweight.Builder
	b.Reset(make([]byte, 0, 64)) // e.g. a pooled buffer's bytes
	w := b.BeginRecord(&flyweight.Layout{Name: "M", FixedLen: 4, Slots: make([]string, 1)})
	w.PutUint32(0, 7)
	w.SetString(0, "hello")
	msg, err := w.Finish()
	if err != nil {
		panic(err)
	}

	v := flyweight.NewValidator(flyweight.Limits{})
	r, err := v.Record(msg, "Greeting", []string{"text"}, 0, 0)
	if err != nil {
		panic(err)
	}
	n, _ := flyweight.Uint32At(r.Fixed(), 0)
	fmt.Println(n, flyweight.StringView(r.Var(0)))
	// Output: 7 hello
}

func ExampleUint32At() {
	b := flyweight.AppendUint32(nil, 0xCAFE)
	v, ok := flyweight.Uint32At(b, 0)
	_, past := flyweight.Uint32At(b, 1)
	fmt.Printf("%#x %v %v\n", v, ok, past)
	// Output: 0xcafe true false
}

func ExampleError() {
	v := flyweight.NewValidator(flyweight.Limits{})
	_, err := v.Record([]byte{1}, "Greeting", nil, 0, 0)
	fmt.Println(err)
	// Output: flyweight: buffer too short: Greeting.header at offset 0
}
