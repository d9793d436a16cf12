package flyweight

// Default limits applied by a Validator whose Limits fields are zero.
const (
	DefaultMaxDepth    = 16
	DefaultMaxElements = 1 << 16
)

// Limits bound the work a Validator does for one message. The zero value
// uses DefaultMaxDepth and DefaultMaxElements.
type Limits struct {
	// MaxDepth is the deepest allowed record nesting; the top-level
	// message has depth 0, elements of its groups depth 1, and so on.
	// Zero means DefaultMaxDepth.
	MaxDepth int
	// MaxElements is the largest total number of group elements (summed
	// over all groups at all depths) in one message. Zero means
	// DefaultMaxElements.
	MaxElements int
}

// Validate reports a negative limit as an *Error wrapping ErrBadLimits.
func (l Limits) Validate() error {
	if l.MaxDepth < 0 {
		return newError("Limits", "MaxDepth", 0, ErrBadLimits)
	}
	if l.MaxElements < 0 {
		return newError("Limits", "MaxElements", 0, ErrBadLimits)
	}
	return nil
}

// withDefaults fills zero fields with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements == 0 {
		l.MaxElements = DefaultMaxElements
	}
	return l
}
