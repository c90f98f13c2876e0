package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"passerelle/internal/indicator"
	"passerelle/internal/plan"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/spreadsheet"
	"passerelle/web/components"
)

// The charts of the indicator pages, drawn on the server, and their CSV
// exports built from the same values.

// The observatory's charts, by the name of their CSV export.
const (
	chartTrend        = "tendance"
	chartAccounts     = "comptes"
	chartContribution = "contribution"
	chartBarometer    = "barometre"
	chartFunnel       = "entonnoir"
	chartPlans        = "plans"
)

// decimal writes v with at most one decimal, in the reader's language.
func decimal(l *i18n.Localizer, v float64) string {
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	if l.Lang() == "fr" {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

// percentSeries is a series of shares drawn in percent, rounded as written.
func percentSeries(l *i18n.Localizer, name string, shares []float64, present []bool) components.Series {
	s := components.Series{Name: name}
	for i, v := range shares {
		if !present[i] {
			s.Values, s.Labels = append(s.Values, 0), append(s.Labels, "")
			continue
		}
		s.Values = append(s.Values, math.Round(v*1000)/10)
		s.Labels = append(s.Labels, l.Percent(v))
	}
	return s
}

// countMax ends a count axis on a multiple of 4, so its five gridlines
// fall on whole numbers.
func countMax(series ...components.Series) float64 {
	m := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			m = math.Max(m, v)
		}
	}
	return math.Max(4, math.Ceil(m/4)*4)
}

// countSeries is a series of whole numbers.
func countSeries(l *i18n.Localizer, name string, counts []int) components.Series {
	s := components.Series{Name: name}
	for _, n := range counts {
		s.Values, s.Labels = append(s.Values, float64(n)), append(s.Labels, l.Int(int64(n)))
	}
	return s
}

func chartFrame(l *i18n.Localizer, id, title, desc, first, csv string) components.Chart {
	return components.Chart{ID: id, Title: title, Desc: desc, First: first, CSV: csv, CSVLabel: l.T("chart.csv"),
		TableLabel: l.T("chart.table", "Title", title), Empty: l.T("chart.empty")}
}

// trendChart is the aggregate share of purchases going to PMEs and ETIs,
// year by year.
func trendChart(l *i18n.Localizer, o indicator.Observatory) components.Chart {
	c := chartFrame(l, chartTrend, l.T("observatory.trend_title"), l.T("observatory.trend_desc"), l.T("observatory.year"),
		"/observatoire/"+chartTrend+".csv")
	var pme, eti []float64
	var present []bool
	for _, a := range o.Aggregate {
		c.Categories = append(c.Categories, strconv.Itoa(a.Year))
		pme, eti, present = append(pme, a.PMEShare()), append(eti, a.ETIShare()), append(present, true)
	}
	c.Series = []components.Series{percentSeries(l, l.T("observatory.pme_share"), pme, present),
		percentSeries(l, l.T("observatory.eti_share"), eti, present)}
	return c
}

// accountsChart is each account's share for one year, after the
// aggregate: every account for staff, its own for a buyer.
func accountsChart(l *i18n.Localizer, o indicator.Observatory, year int) components.Chart {
	c := chartFrame(l, chartAccounts, l.T("observatory.accounts_title", "Year", year), l.T("observatory.accounts_desc", "Year", year),
		l.T("observatory.account"), fmt.Sprintf("/observatoire/%s.csv?annee=%d", chartAccounts, year))
	c.Horizontal = true
	var pme, eti []float64
	var present []bool
	if agg, ok := o.Year(year); ok {
		c.Categories = append(c.Categories, l.T("observatory.all_accounts", "Count", agg.Accounts))
		pme, eti, present = append(pme, agg.PMEShare()), append(eti, agg.ETIShare()), append(present, true)
	}
	for _, a := range o.Accounts {
		d, ok := a.ByYear[year]
		if !ok && o.AllAccounts {
			continue // staff: the accounts that declared the year
		}
		c.Categories = append(c.Categories, a.Name)
		pme, eti, present = append(pme, d.PMEShare()), append(eti, d.ETIShare()), append(present, ok)
	}
	c.Series = []components.Series{percentSeries(l, l.T("observatory.pme_share"), pme, present),
		percentSeries(l, l.T("observatory.eti_share"), eti, present)}
	return c
}

// contributionChart is the contracts SMEs won through the platform, year
// by year, and how many of them the buyer would not have consulted.
func contributionChart(l *i18n.Localizer, o indicator.Observatory) components.Chart {
	c := chartFrame(l, chartContribution, l.T("observatory.contribution_title"), l.T("observatory.contribution_desc"),
		l.T("observatory.year"), "/observatoire/"+chartContribution+".csv")
	var pme, would []int
	for _, x := range o.Contribution {
		c.Categories = append(c.Categories, strconv.Itoa(x.Year))
		pme, would = append(pme, x.PMEContracts), append(would, x.WouldNot)
	}
	c.Series = []components.Series{countSeries(l, l.T("observatory.pme_contracts"), pme), countSeries(l, l.T("observatory.would_not"), would)}
	c.Max = countMax(c.Series...)
	return c
}

// barometerChart is the overall score of each account with enough answers.
func barometerChart(l *i18n.Localizer, c indicator.Campaign, scores []indicator.Score) components.Chart {
	ch := chartFrame(l, chartBarometer, l.T("barometer.chart_title", "Year", c.Year), l.T("barometer.chart_desc", "Min", indicator.MinAnswers),
		l.T("observatory.account"), fmt.Sprintf("/observatoire/%s.csv?campagne=%d", chartBarometer, c.ID))
	ch.Horizontal, ch.Max = true, 10
	s := components.Series{Name: l.T("barometer.overall")}
	for _, sc := range scores {
		if !sc.Enough {
			continue
		}
		ch.Categories = append(ch.Categories, sc.Name)
		v := math.Round(sc.Overall*10) / 10
		s.Values, s.Labels = append(s.Values, v), append(s.Labels, decimal(l, v))
	}
	ch.Series = []components.Series{s}
	return ch
}

// funnelChart is the platform's funnel by month of suggestion.
func funnelChart(l *i18n.Localizer, p indicator.Platform) components.Chart {
	c := chartFrame(l, chartFunnel, l.T("figures.funnel_title"), l.T("figures.funnel_desc"), l.T("figures.month"), "/equipe/indicateurs.csv")
	var sug, view, intr, short, won []int
	for _, m := range p.Months {
		c.Categories = append(c.Categories, m.Month.Format("01/06"))
		sug, view, intr = append(sug, m.Suggested), append(view, m.Viewed), append(intr, m.Interested)
		short, won = append(short, m.Shortlisted), append(won, m.Won)
	}
	c.Series = []components.Series{countSeries(l, l.T("figures.suggested"), sug), countSeries(l, l.T("figures.viewed"), view),
		countSeries(l, l.T("figures.interested"), intr), countSeries(l, l.T("figures.shortlisted"), short)}
	c.Series = append(c.Series, countSeries(l, l.T("figures.won"), won))
	c.Max = countMax(c.Series...)
	return c
}

// writeChartCSV exports exactly the numbers a chart draws: one line per
// category, one column per series, as the values were rounded to draw.
func (s *Server) writeChartCSV(w http.ResponseWriter, r *http.Request, c components.Chart, name string) {
	l := i18n.FromContext(r.Context())
	head := []string{c.First}
	for _, x := range c.Series {
		head = append(head, x.Name)
	}
	rows := [][]string{head}
	for i, cat := range c.Categories {
		row := []string{cat}
		for _, x := range c.Series {
			if x.Labels[i] == "" {
				row = append(row, "")
			} else {
				row = append(row, decimal(l, x.Values[i]))
			}
		}
		rows = append(rows, row)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="passerelle-%s.csv"`, name))
	if err := spreadsheet.WriteCSV(w, rows); err != nil {
		s.logError(r, "chart export", err)
	}
}

func percentAxis(l *i18n.Localizer) func(float64) string {
	return func(v float64) string { return decimal(l, v) + "\u00a0%" }
}

func countAxis(l *i18n.Localizer) func(float64) string {
	return func(v float64) string { return decimal(l, v) }
}

// plansChart counts the commitments of the published plans the reader
// may read, met, missed and not measurable, for each account then for
// all of them.
func plansChart(l *i18n.Localizer, year int, list []plan.Summary) components.Chart {
	c := chartFrame(l, chartPlans, l.T("observatory.plans_title", "Year", year), l.T("observatory.plans_desc"), l.T("observatory.account"),
		"/observatoire/"+chartPlans+".csv")
	c.Horizontal = true
	counts := make([][]int, len(plan.Outcomes))
	total := make([]int, len(plan.Outcomes))
	for _, p := range list {
		if p.Status == plan.StatusDraft {
			continue
		}
		c.Categories = append(c.Categories, p.OrgName)
		for i, o := range plan.Outcomes {
			counts[i] = append(counts[i], p.Counts[o])
			total[i] += p.Counts[o]
		}
	}
	if len(c.Categories) == 0 {
		return c
	}
	c.Categories = append(c.Categories, l.T("observatory.plans_all"))
	for i, o := range plan.Outcomes {
		c.Series = append(c.Series, countSeries(l, l.T("plan.outcome."+string(o)), append(counts[i], total[i])))
	}
	c.Max = countMax(c.Series...)
	return c
}
