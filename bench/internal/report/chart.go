package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ErrNoData is returned when there is nothing to chart.
var ErrNoData = errors.New("report: nothing to chart")

// Point is one offered rate's latency percentiles, in microseconds.
type Point struct {
	OfferedRPS          float64
	P50, P90, P99, P999 float64
}

// Series is what the charts show for one system.
type Series struct {
	System string
	// Points are latency percentiles against offered rate (one per sweep
	// step, or a single point for a plain run).
	Points []Point
	// Throughput is operations per second for each Step of the run(s).
	Throughput []float64
	// Step is the interval of Throughput (one second if zero).
	Step time.Duration
	// ThresholdUs, if positive, is drawn as a dashed line on the latency
	// chart: the p99.9 bound a sweep tested against, in microseconds.
	ThresholdUs float64
}

// PointOf returns the chart point of a record.
func PointOf(r Record) Point {
	return Point{OfferedRPS: r.OfferedRPS, P50: r.P50us, P90: r.P90us, P99: r.P99us, P999: r.P999us}
}

var percentiles = []struct {
	name  string
	get   func(Point) float64
	color color.Color
}{
	{"p50", func(p Point) float64 { return p.P50 }, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
	{"p90", func(p Point) float64 { return p.P90 }, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}},
	{"p99", func(p Point) float64 { return p.P99 }, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
	{"p99.9", func(p Point) float64 { return p.P999 }, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}},
}

// plots builds the grid: row 0 latency against offered rate, row 1
// throughput over time, one column per system, axes shared per row so that
// the columns compare at a glance.
func plots(series []Series) ([][]*plot.Plot, error) {
	if len(series) == 0 {
		return nil, ErrNoData
	}
	grid := [][]*plot.Plot{make([]*plot.Plot, len(series)), make([]*plot.Plot, len(series))}
	latMin, latMax, thrMax, rateMax, timeMax := math.Inf(1), 0.0, 0.0, 0.0, 1.0
	for _, s := range series {
		timeMax = math.Max(timeMax, float64(len(s.Throughput))*step(s).Seconds())
		if s.ThresholdUs > 0 {
			latMin, latMax = math.Min(latMin, s.ThresholdUs), math.Max(latMax, s.ThresholdUs)
		}
		for _, pt := range s.Points {
			rateMax = math.Max(rateMax, pt.OfferedRPS)
			for _, pc := range percentiles {
				if v := pc.get(pt); v > 0 {
					latMin, latMax = math.Min(latMin, v), math.Max(latMax, v)
				}
			}
		}
		for _, v := range s.Throughput {
			thrMax = math.Max(thrMax, v)
		}
	}
	if latMax == 0 {
		latMin, latMax = 1, 10
	}
	for i, s := range series {
		lat := plot.New()
		lat.Title.Text = s.System + ": latency vs offered rate"
		lat.X.Label.Text = "offered rate (ops/s)"
		lat.Y.Label.Text = "latency (µs, log)"
		lat.Y.Scale = plot.LogScale{}
		lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		// Headroom above the data (a log axis: a factor) keeps the legend,
		// top left, clear of the lines.
		lat.Y.Min, lat.Y.Max = latMin/1.5, latMax*6
		lat.X.Min, lat.X.Max = 0, math.Max(rateMax*1.05, 1)
		lat.X.Tick.Marker = rateTicks{}
		lat.Legend.XOffs = vg.Millimeter * 3
		lat.Add(plotter.NewGrid())
		lat.Legend.Top, lat.Legend.Left = true, true
		for _, pc := range percentiles {
			xys := make(plotter.XYs, 0, len(s.Points))
			for _, pt := range s.Points {
				if v := pc.get(pt); v > 0 {
					xys = append(xys, plotter.XY{X: pt.OfferedRPS, Y: v})
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, err
			}
			line.Color, points.Color = pc.color, pc.color
			line.Width = vg.Points(1.5)
			lat.Add(line, points)
			lat.Legend.Add(pc.name, line, points)
		}
		if s.ThresholdUs > 0 {
			th, err := plotter.NewLine(plotter.XYs{{X: lat.X.Min, Y: s.ThresholdUs}, {X: lat.X.Max, Y: s.ThresholdUs}})
			if err != nil {
				return nil, err
			}
			th.Color = color.Gray{Y: 0x60}
			th.Width = vg.Points(1)
			th.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			lat.Add(th)
			lat.Legend.Add("p99.9 bound "+FormatUs(s.ThresholdUs), th)
		}
		grid[0][i] = lat

		thr := plot.New()
		thr.Title.Text = s.System + ": throughput over time"
		thr.X.Label.Text = "time (s)"
		thr.Y.Label.Text = "ops/s"
		thr.Y.Min, thr.Y.Max = 0, math.Max(thrMax*1.1, 1)
		thr.Y.Tick.Marker = rateTicks{}
		thr.X.Min, thr.X.Max = 0, timeMax
		thr.Add(plotter.NewGrid())
		if len(s.Throughput) > 0 {
			xys := make(plotter.XYs, len(s.Throughput))
			for j, v := range s.Throughput {
				xys[j] = plotter.XY{X: float64(j+1) * step(s).Seconds(), Y: v}
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			line.Color = percentiles[0].color
			line.Width = vg.Points(1.5)
			thr.Add(line)
		}
		grid[1][i] = thr
	}
	return grid, nil
}

func step(s Series) time.Duration {
	if s.Step <= 0 {
		return time.Second
	}
	return s.Step
}

// rateTicks labels a rate axis with k and M suffixes.
type rateTicks struct{}

func (rateTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = FormatRate(ticks[i].Value)
		}
	}
	return ticks
}

// size of the drawing: one 5-inch column per system.
func size(n int) (vg.Length, vg.Length) { return vg.Length(n) * 5 * vg.Inch, 7 * vg.Inch }

func draw2(c draw.Canvas, grid [][]*plot.Plot) {
	t := draw.Tiles{Rows: 2, Cols: len(grid[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(grid, t, c)
	for r := range grid {
		for col, p := range grid[r] {
			p.Draw(canvases[r][col])
		}
	}
}

// WriteSVG draws the charts of series as SVG.
func WriteSVG(w io.Writer, series []Series) error {
	grid, err := plots(series)
	if err != nil {
		return err
	}
	wd, ht := size(len(series))
	c := vgsvg.New(wd, ht)
	draw2(draw.New(c), grid)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("report: write svg: %w", err)
	}
	return nil
}

// WritePNG draws the same charts as a PNG at 96 dpi.
func WritePNG(w io.Writer, series []Series) error {
	grid, err := plots(series)
	if err != nil {
		return err
	}
	wd, ht := size(len(series))
	c := vgimg.NewWith(vgimg.UseWH(wd, ht), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	draw2(draw.New(c), grid)
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("report: write png: %w", err)
	}
	return nil
}
