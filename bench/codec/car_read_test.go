package codec

// readCar reads every field of a Car; strings are zero-copy views.
func readCar(m Car) int {
	n := int(m.SerialNumber()) + int(m.ModelYear()) + int(m.Code()) + int(m.Extras())
	if m.Available() {
		n++
	}
	for _, x := range m.SomeNumbers() {
		n += int(x)
	}
	vc := m.VehicleCode()
	n += len(vc)
	e := m.Engine()
	n += int(e.Capacity) + int(e.NumCylinders) + len(e.ManufacturerCode) + int(e.Booster.BoostType) + int(e.Booster.HorsePower)
	for it := m.FuelFigures(); ; {
		f, ok := it.Next()
		if !ok {
			break
		}
		n += int(f.Speed()) + int(f.Mpg()) + len(f.UsageDescriptionView())
	}
	for it := m.PerformanceFigures(); ; {
		p, ok := it.Next()
		if !ok {
			break
		}
		n += int(p.OctaneRating())
		for ai := p.Acceleration(); ; {
			a, ok := ai.Next()
			if !ok {
				break
			}
			n += int(a.Mph()) + int(a.Seconds())
		}
	}
	return n + len(m.ManufacturerView()) + len(m.ModelView()) + len(m.ActivationCodeView())
}
