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
	n += int(vc[0]) + int(vc[5])
	e := m.Engine()
	n += int(e.Capacity) + int(e.NumCylinders) + len(e.ManufacturerCode) + int(e.Booster.BoostType) + int(e.Booster.HorsePower)
	ff := m.FuelFigures()
	for i := 0; i < ff.Len(); i++ {
		f := ff.At(i)
		n += int(f.Speed()) + int(f.Mpg()) + len(f.UsageDescriptionView())
	}
	pf := m.PerformanceFigures()
	for i := 0; i < pf.Len(); i++ {
		p := pf.At(i)
		n += int(p.OctaneRating())
		ag := p.Acceleration()
		for j := 0; j < ag.Len(); j++ {
			a := ag.At(j)
			n += int(a.Mph()) + int(a.Seconds())
		}
	}
	return n + len(m.ManufacturerView()) + len(m.ModelView()) + len(m.ActivationCodeView())
}
