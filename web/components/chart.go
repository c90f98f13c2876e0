package components

import (
	"math"
	"strconv"
)

// Chart is a bar chart drawn on the server as SVG: categories (years,
// accounts) along one axis, one bar per series in each, the value written
// on each bar and the same numbers in a table beside it, so it reads
// without colours, without JavaScript and on paper.
type Chart struct {
	ID         string // unique in the page: the ids of its title and description
	Title      string
	Desc       string // what it shows, in a sentence, for screen readers
	Categories []string
	Series     []Series
	Max        float64 // the axis' end; 0: from the data
	Horizontal bool    // bars along x, for long category names
	CSV        string  // the export of exactly these numbers
	CSVLabel   string
	TableLabel string // caption of the data table
	Empty      string // shown instead when there is no value
	First      string // header of the table's first column (what the categories are)
}

// Series is one kind of bar: its name and its value in each category;
// Labels are the values as written (22,4 %), "" where there is none.
type Series struct {
	Name   string
	Values []float64
	Labels []string
}

// Bar is one drawn rectangle with its value written beside it.
type Bar struct {
	X, Y, W, H     string
	Class          string
	Label          string
	LabelX, LabelY string
	Anchor         string
}

// Tick is a gridline of the value axis.
type Tick struct{ X1, Y1, X2, Y2, TX, TY, Label string }

// Axis label of a category.
type CatLabel struct{ X, Y, Text, Anchor string }

// chart geometry, in SVG units.
const (
	chartW      = 720.0
	plotLeft    = 56.0
	plotTop     = 16.0
	barGap      = 0.25 // of a category's width, between categories
	hLabelWidth = 260.0
)

func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// HasData reports whether any series has a value.
func (c Chart) HasData() bool {
	for _, s := range c.Series {
		for _, l := range s.Labels {
			if l != "" {
				return true
			}
		}
	}
	return false
}

func (c Chart) max() float64 {
	m := c.Max
	if m == 0 {
		for _, s := range c.Series {
			for i, v := range s.Values {
				if s.Labels[i] != "" && v > m {
					m = v
				}
			}
		}
		m = niceCeil(m)
	}
	if m <= 0 {
		m = 1
	}
	return m
}

// niceCeil rounds up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Height is the SVG's height: fixed for columns, by category for rows.
func (c Chart) Height() float64 {
	if c.Horizontal {
		return plotTop + float64(len(c.Categories))*float64(max(1, len(c.Series)))*22 + float64(len(c.Categories))*10 + 40
	}
	return 300
}

// ViewBox is the SVG's viewBox.
func (c Chart) ViewBox() string { return "0 0 " + f1(chartW) + " " + f1(c.Height()) }

// Bars lays out every bar with a value.
func (c Chart) Bars() []Bar {
	var out []Bar
	n, k := len(c.Categories), max(1, len(c.Series))
	if n == 0 {
		return nil
	}
	m := c.max()
	if c.Horizontal {
		left, width := hLabelWidth, chartW-hLabelWidth-70
		catH := 22.0*float64(k) + 10
		for i := range c.Categories {
			for j, s := range c.Series {
				if s.Labels[i] == "" {
					continue
				}
				w := math.Max(0, s.Values[i]/m*width)
				y := plotTop + float64(i)*catH + float64(j)*22
				out = append(out, Bar{X: f1(left), Y: f1(y), W: f1(w), H: "18", Class: "chart__bar chart__bar--" + strconv.Itoa(j),
					Label: s.Labels[i], LabelX: f1(left + w + 4), LabelY: f1(y + 13), Anchor: "start"})
			}
		}
		return out
	}
	plotH := c.Height() - plotTop - 40
	width := chartW - plotLeft - 10
	catW := width / float64(n)
	barW := catW * (1 - barGap) / float64(k)
	for i := range c.Categories {
		for j, s := range c.Series {
			if s.Labels[i] == "" {
				continue
			}
			h := math.Max(0, s.Values[i]/m*plotH)
			x := plotLeft + float64(i)*catW + catW*barGap/2 + float64(j)*barW
			y := plotTop + plotH - h
			out = append(out, Bar{X: f1(x), Y: f1(y), W: f1(barW), H: f1(h), Class: "chart__bar chart__bar--" + strconv.Itoa(j),
				Label: s.Labels[i], LabelX: f1(x + barW/2), LabelY: f1(math.Max(y-4, plotTop+10)), Anchor: "middle"})
		}
	}
	return out
}

// Ticks are the value axis' gridlines: 0, ¼, ½, ¾ and the maximum, with
// labels from format.
func (c Chart) Ticks(format func(float64) string) []Tick {
	m := c.max()
	var out []Tick
	for i := 0; i <= 4; i++ {
		v := m * float64(i) / 4
		if c.Horizontal {
			left, width := hLabelWidth, chartW-hLabelWidth-70
			x := left + v/m*width
			bottom := c.Height() - 30
			out = append(out, Tick{X1: f1(x), Y1: f1(plotTop - 4), X2: f1(x), Y2: f1(bottom), TX: f1(x), TY: f1(bottom + 16), Label: format(v)})
			continue
		}
		plotH := c.Height() - plotTop - 40
		y := plotTop + plotH - v/m*plotH
		out = append(out, Tick{X1: f1(plotLeft), Y1: f1(y), X2: f1(chartW - 10), Y2: f1(y), TX: f1(plotLeft - 6), TY: f1(y + 4), Label: format(v)})
	}
	return out
}

// CategoryLabels place each category's name under its bars (columns) or
// before them (rows).
func (c Chart) CategoryLabels() []CatLabel {
	n, k := len(c.Categories), max(1, len(c.Series))
	var out []CatLabel
	if c.Horizontal {
		catH := 22.0*float64(k) + 10
		for i, name := range c.Categories {
			out = append(out, CatLabel{X: f1(hLabelWidth - 8), Y: f1(plotTop + float64(i)*catH + 11*float64(k) + 4), Text: clipRunes(name, 38), Anchor: "end"})
		}
		return out
	}
	width := chartW - plotLeft - 10
	catW := width / float64(max(1, n))
	for i, name := range c.Categories {
		out = append(out, CatLabel{X: f1(plotLeft + float64(i)*catW + catW/2), Y: f1(c.Height() - 18), Text: name, Anchor: "middle"})
	}
	return out
}

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Legend is one series' name with its swatch class.
type Legend struct{ Class, Name string }

// Legends are the series, for the key under the chart.
func (c Chart) Legends() []Legend {
	var out []Legend
	for j, s := range c.Series {
		out = append(out, Legend{Class: "chart__swatch chart__bar--" + strconv.Itoa(j), Name: s.Name})
	}
	return out
}
