package people_test

import (
	"fmt"

	"github.com/protosocket-go/protosocket/codecgen/internal/testschema/people"
	"github.com/protosocket-go/protosocket/flyweight"
)

// Build a Person into a caller-owned buffer, then wrap and read it.
func Example() {
	var b flyweight.Builder
	b.Reset(make([]byte, 0, 512))
	p := people.BuildPerson(&b)
	p.SetName("Ada")
	p.SetBirthDay(1815)
	kids := p.BeginKids()
	k := kids.Add()
	k.SetName("Byron")
	kids.End()
	msg, err := p.Finish()
	if err != nil {
		panic(err)
	}

	m, err := people.WrapPerson(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(people.PersonTypeID, m.NameView(), m.BirthDay(), m.Rank())
	for it := m.Kids(); ; {
		kid, ok := it.Next()
		if !ok {
			break
		}
		fmt.Println(kid.Name())
	}
	// Output:
	// 1 Ada 1815 5
	// Byron
}

// Hostile bytes give a typed error, never a panic.
func ExampleWrapPerson_error() {
	_, err := people.WrapPerson([]byte{0xff, 0xff, 0, 0})
	fmt.Println(err)
	// Output: flyweight: buffer too short: Person.header at offset 0
}

// String dumps a message for logs.
func ExamplePing_String() {
	v := people.PingValue{}
	b, _ := v.AppendTo(nil)
	m, _ := people.WrapPing(b)
	fmt.Println(m)
	// Output: Ping{}
}
