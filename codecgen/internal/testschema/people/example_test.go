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
	p := people.BuildPerson(&b).SetName("Ada").SetBirthDay(1815) // setters chain
	kids := p.BeginKids()
	kids.Add().SetName("Byron").SetAge(9)
	kids.Add().SetName("Lovelace")
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
	for i, kid := range m.Kids().All() {
		fmt.Println(i, kid.Name(), kid.Age())
	}
	fmt.Println(m.Kids().Len(), m.Kids().At(1).Name())
	// Output:
	// 1 Ada 1815 5
	// 0 Byron 9
	// 1 Lovelace 0
	// 2 Lovelace
}

// Variable fields must be written in schema order; the error names the
// field.
func ExampleBuildPerson_error() {
	var b flyweight.Builder
	_, err := people.BuildPerson(&b).SetPhone("+44").SetName("Ada").Finish()
	fmt.Println(err)
	// Output: flyweight: variable field written out of order: Person.name at offset 0
}

// Hostile bytes give a typed error, never a panic.
func ExampleWrapPerson_error() {
	_, err := people.WrapPerson([]byte{0xff, 0x7f, 0, 0})
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

// Build a Card with its direct builder into a reused buffer: the setters
// write as they are called; strings and bytes once each, in schema order.
func ExampleAppendCard() {
	buf := make([]byte, 0, 256)
	for _, title := range []string{"first", "second"} {
		out, err := people.AppendCard(buf[:0]).SetTitle(title).SetPerms(people.PermsRead).
			SetNote("hello").SetOk(true).Finish()
		if err != nil {
			panic(err)
		}
		m, err := people.WrapCard(out)
		if err != nil {
			panic(err)
		}
		fmt.Println(m.TitleView(), m.Level(), m.Stars(), m.NoteView(), m.Ok()) // level and stars: the defaults
		buf = out[:0]
	}
	// A mistake is reported by Finish, naming the field.
	_, err := people.AppendCard(nil).SetNote("n").SetTitle("t").Finish()
	fmt.Println(err)
	// Output:
	// first high 3 hello true
	// second high 3 hello true
	// flyweight: variable field written out of order: Card.title at offset 0
}
