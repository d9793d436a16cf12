package spillway

// Defaults and limits for Options.
const (
	// DefaultLanes is the lane count used when Options.Lanes is 0.
	DefaultLanes = 64
	// MaxLanes is the largest accepted Options.Lanes.
	MaxLanes = 4096
	// DefaultLaneCapacity is the per-lane bound used when
	// Options.LaneCapacity is 0.
	DefaultLaneCapacity = 1024
	// MaxLaneCapacity is the largest accepted Options.LaneCapacity.
	MaxLaneCapacity = 1 << 20
)

// Options configures New. The zero value is ready to use: DefaultLanes lanes
// of DefaultLaneCapacity values each, no weight bound, and a Send that blocks
// while its lane is full.
type Options[T any] struct {
	// Lanes is the number of lanes senders are spread over, round-robin.
	// One lane per concurrently sending goroutine is fastest. 0 means
	// DefaultLanes; at most MaxLanes.
	Lanes int

	// LaneCapacity bounds the number of values queued in one lane; the
	// queue as a whole holds at most Lanes*LaneCapacity values. It is also
	// the longest accepted SendBatch. 0 means DefaultLaneCapacity; at most
	// MaxLaneCapacity.
	LaneCapacity int

	// MaxWeight, when positive, bounds the total Weight of the values in
	// the queue. A single value heavier than MaxWeight is still accepted
	// when the queue holds no weight at all, so it cannot block forever;
	// the bound is therefore max(MaxWeight, heaviest single send). 0 means
	// no weight bound. Requires Weight.
	MaxWeight int64

	// Weight returns the weight of a value, for example its encoded size in
	// bytes. It is called once per value inside Send or SendBatch, must be
	// cheap and must not call into the queue. Negative results count as 0.
	// Required when MaxWeight is positive and ignored otherwise.
	Weight func(T) int64

	// FailWhenFull makes Send and SendBatch return ErrFull instead of
	// blocking when the lane or the weight budget has no room.
	FailWhenFull bool
}

// Validate reports the first invalid field as a *OptionError. Zero values
// are valid (they select defaults).
func (o *Options[T]) Validate() error {
	switch {
	case o.Lanes < 0 || o.Lanes > MaxLanes:
		return &OptionError{Field: "Lanes", Value: int64(o.Lanes), Reason: "must be between 0 and MaxLanes"}
	case o.LaneCapacity < 0 || o.LaneCapacity > MaxLaneCapacity:
		return &OptionError{Field: "LaneCapacity", Value: int64(o.LaneCapacity), Reason: "must be between 0 and MaxLaneCapacity"}
	case o.MaxWeight < 0:
		return &OptionError{Field: "MaxWeight", Value: o.MaxWeight, Reason: "must not be negative"}
	case o.MaxWeight > 0 && o.Weight == nil:
		return &OptionError{Field: "Weight", Reason: "must be set when MaxWeight is positive"}
	}
	return nil
}

// withDefaults returns a copy with zero fields replaced by their defaults.
func (o Options[T]) withDefaults() Options[T] {
	if o.Lanes == 0 {
		o.Lanes = DefaultLanes
	}
	if o.LaneCapacity == 0 {
		o.LaneCapacity = DefaultLaneCapacity
	}
	if o.MaxWeight == 0 {
		o.Weight = nil
	}
	return o
}
