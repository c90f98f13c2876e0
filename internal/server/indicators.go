package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/spreadsheet"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// The observatory's charts, by the name of their CSV export.
const (
	chartTrend        = "tendance"
	chartAccounts     = "comptes"
	chartContribution = "contribution"
	chartBarometer    = "barometre"
	chartFunnel       = "entonnoir"
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

// yearParam reads ?annee=, or gives def.
func yearParam(r *http.Request, name string, def int) int {
	if y, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil && y >= 2000 && y <= 2100 {
		return y
	}
	return def
}

// observatoryYear is the year the accounts' chart shows: asked, or the
// latest declared.
func observatoryYear(r *http.Request, o indicator.Observatory) int {
	def := 0
	if n := len(o.Aggregate); n > 0 {
		def = o.Aggregate[n-1].Year
	}
	return yearParam(r, "annee", def)
}

// observatory is the purchasing observatory: the aggregate trend, the
// accounts of a year, the platform's contribution and the barometer.
func (s *Server) observatory(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	o, err := s.indicators.Observatory(r.Context(), a)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	campaignID, _ := strconv.ParseInt(r.URL.Query().Get("campagne"), 10, 64)
	campaign, scores, err := s.indicators.Results(r.Context(), a, campaignID)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	year := observatoryYear(r, o)
	v := indicatorpage.Report{Page: s.page(r, "observatory.title"), Title: l.T("observatory.title"), Lead: l.T("observatory.lead"), TestID: "observatory"}

	trend := trendChart(l, o)
	sec := indicatorpage.Section{ID: "tendance", Title: l.T("observatory.trend_title"), Chart: &trend, Format: percentAxis(l),
		Links: []indicatorpage.Link{{Href: "/acheteurs-publics", Label: l.T("buyers.title")}}}
	if n := len(o.Aggregate); n > 0 {
		last := o.Aggregate[n-1]
		sec.Facts = []components.Fact{
			{Label: l.T("observatory.latest_share", "Year", last.Year), Value: l.Percent(last.PMEShare())},
			{Label: l.T("observatory.latest_purchases", "Year", last.Year), Value: l.Money(last.Total)},
			{Label: l.T("observatory.latest_pme", "Year", last.Year), Value: l.Money(last.PME)},
			{Label: l.T("observatory.declaring", "Year", last.Year), Value: l.Int(int64(last.Accounts))},
		}
	}
	v.Sections = append(v.Sections, sec)

	if a.IsStaff() || a.IsBuyer() {
		accounts := accountsChart(l, o, year)
		sec := indicatorpage.Section{ID: "comptes", Title: l.T("observatory.accounts_section"), Chart: &accounts, Format: percentAxis(l)}
		if a.IsBuyer() {
			sec.Lead = l.T("observatory.accounts_buyer_lead")
		}
		var opts []components.Option
		for i := len(o.Years) - 1; i >= 0; i-- {
			opts = append(opts, components.Option{Value: strconv.Itoa(o.Years[i]), Label: strconv.Itoa(o.Years[i])})
		}
		if len(opts) > 0 {
			v.Filter = &components.Form{Action: "/observatoire", Submit: l.T("observatory.show_year"),
				Fields: []components.Field{{Name: "annee", Label: l.T("observatory.year"), Type: "select", Value: strconv.Itoa(year), Options: opts}}}
		}
		v.Sections = append(v.Sections, sec)
	}

	contribution := contributionChart(l, o)
	sec = indicatorpage.Section{ID: "contribution", Title: l.T("observatory.contribution_title"), Lead: l.T("observatory.contribution_lead"),
		Chart: &contribution, Format: countAxis(l)}
	var amount int64
	var won, answered, would int
	for _, c := range o.Contribution {
		amount, won, answered, would = amount+c.PMEAmount, won+c.PMEContracts, answered+c.Answered, would+c.WouldNot
	}
	if won > 0 {
		sec.Facts = []components.Fact{{Label: l.T("observatory.pme_contracts"), Value: l.Int(int64(won))},
			{Label: l.T("observatory.pme_amount"), Value: l.Money(amount)}}
		if answered > 0 {
			sec.Facts = append(sec.Facts, components.Fact{Label: l.T("observatory.would_not_share"), Value: l.Percent(float64(would) / float64(answered))})
		}
	}
	v.Sections = append(v.Sections, sec)
	v.Sections = append(v.Sections, barometerSection(l, campaign, scores))
	if c := barometerComments(l, scores); c != nil {
		v.Sections = append(v.Sections, *c)
	}

	switch {
	case a.IsStaff():
		v.Sections[0].Links = []indicatorpage.Link{{Href: "/equipe/declarations", Label: l.T("declarations.staff_title"), TestID: "to-declarations"}}
	case a.IsBuyer():
		v.Sections[0].Links = []indicatorpage.Link{{Href: "/espace/declarations", Label: l.T("declarations.title"), TestID: "to-declarations"}}
	}
	s.render(w, r, http.StatusOK, indicatorpage.ReportView(v))
}

// barometerSection shows a campaign's results: the chart of accounts
// with enough answers, and every account's line.
func barometerSection(l *i18n.Localizer, c indicator.Campaign, scores []indicator.Score) indicatorpage.Section {
	sec := indicatorpage.Section{ID: "barometre", Title: l.T("barometer.results_title"), Empty: l.T("barometer.no_campaign")}
	if c.ID == 0 {
		return sec
	}
	sec.Title = l.T("barometer.results_year", "Year", c.Year)
	sec.Lead = l.T("barometer.results_lead", "Min", indicator.MinAnswers)
	chart := barometerChart(l, c, scores)
	chart.Empty = l.T("barometer.none_enough", "Min", indicator.MinAnswers)
	sec.Chart, sec.Format = &chart, countAxis(l)
	t := &indicatorpage.Table{Caption: l.T("barometer.table_caption"), TestID: "barometer-table",
		Headers: []string{l.T("observatory.account"), l.T("barometer.answers")}}
	for _, criterion := range indicator.Criteria {
		t.Headers = append(t.Headers, l.T("indicator.criterion."+criterion))
	}
	for _, sc := range scores {
		row := []string{sc.Name, l.Int(int64(sc.Answers))}
		for i := range indicator.Criteria {
			if sc.Enough {
				row = append(row, decimal(l, sc.Means[i]))
			} else {
				row = append(row, l.T("barometer.not_enough"))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	sec.Table = t
	sec.Empty = l.T("barometer.no_answers")
	return sec
}

// barometerComments is, for staff, the comments on the accounts with
// enough answers: the account and the text, nothing about who wrote it.
func barometerComments(l *i18n.Localizer, scores []indicator.Score) *indicatorpage.Section {
	t := &indicatorpage.Table{TestID: "barometer-comments", Headers: []string{l.T("observatory.account"), l.T("barometer.comment_column")}}
	for _, sc := range scores {
		for _, c := range sc.Comments {
			t.Rows = append(t.Rows, []string{sc.Name, c})
		}
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return &indicatorpage.Section{ID: "commentaires", Title: l.T("barometer.comments_title"), Lead: l.T("barometer.comments_lead"), Table: t}
}

// observatoryCSV exports the numbers of one of the observatory's charts.
func (s *Server) observatoryCSV(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	name, ok := strings.CutSuffix(chi.URLParam(r, "chart"), ".csv")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	var c components.Chart
	switch name {
	case chartTrend, chartAccounts, chartContribution:
		o, err := s.indicators.Observatory(r.Context(), a)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		switch {
		case name == chartTrend:
			c = trendChart(l, o)
		case name == chartContribution:
			c = contributionChart(l, o)
		case a.IsStaff() || a.IsBuyer():
			c = accountsChart(l, o, observatoryYear(r, o))
		default:
			s.renderError(w, r, http.StatusNotFound)
			return
		}
	case chartBarometer:
		id, _ := strconv.ParseInt(r.URL.Query().Get("campagne"), 10, 64)
		campaign, scores, err := s.indicators.Results(r.Context(), a, id)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		c = barometerChart(l, campaign, scores)
	default:
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.writeChartCSV(w, r, c, name)
}

// declarationFields is the declaration form with what was typed.
func declarationFields(l *i18n.Localizer, in indicator.Input) []components.Field {
	return []components.Field{
		{Name: "year", Label: l.T("declarations.year"), Type: "number", Value: in.Year, Required: true},
		{Name: "total", Label: l.T("declarations.total"), Type: "text", Value: in.Total, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "pme", Label: l.T("declarations.pme"), Type: "text", Value: in.PME, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "eti", Label: l.T("declarations.eti"), Type: "text", Value: in.ETI, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "payment_days", Label: l.T("declarations.payment_days"), Type: "text", Value: in.PaymentDays, Required: true},
		{Name: "on_time", Label: l.T("declarations.on_time"), Type: "text", Value: in.OnTime, Required: true, Hint: l.T("declarations.on_time_hint")},
	}
}

// declarations is the buyer's page: the form and every version declared.
func (s *Server) declarations(w http.ResponseWriter, r *http.Request) {
	in := indicator.Input{Year: strconv.Itoa(time.Now().Year() - 1)}
	if y := r.URL.Query().Get("annee"); y != "" {
		in.Year = y
	}
	s.declarationsPage(w, r, http.StatusOK, in, nil)
}

func (s *Server) declarationsPage(w http.ResponseWriter, r *http.Request, status int, in indicator.Input, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	history, err := s.indicators.History(r.Context(), a, a.OrgID)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	form := withErrors(l, components.Form{Action: "/espace/declarations", Submit: l.T("declarations.submit"), TestID: "declaration-form",
		Fields: declarationFields(l, in)}, errs)
	v := indicatorpage.Report{Page: s.page(r, "declarations.title"), Title: l.T("declarations.title"), Lead: l.T("declarations.lead"), TestID: "declarations",
		Sections: []indicatorpage.Section{
			{ID: "declarer", Title: l.T("declarations.form_title"), Lead: l.T("declarations.form_lead"), Forms: []components.Form{form}},
			{ID: "historique", Title: l.T("declarations.history"), Table: declarationTable(l, history, true), Empty: l.T("declarations.empty"),
				Links: []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title")}}},
		}}
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// declarationTable lists declarations; history adds the version, the
// author and the time of each.
func declarationTable(l *i18n.Localizer, list []indicator.Declaration, history bool) *indicatorpage.Table {
	t := &indicatorpage.Table{TestID: "declarations-table"}
	if !history {
		t.Headers = append(t.Headers, l.T("observatory.account"))
	}
	t.Headers = append(t.Headers, l.T("declarations.year"), l.T("declarations.total"), l.T("declarations.pme"), l.T("observatory.pme_share"),
		l.T("declarations.eti"), l.T("declarations.payment_days"), l.T("declarations.on_time"))
	if history {
		t.Headers = append(t.Headers, l.T("declarations.version"), l.T("declarations.by"))
	}
	for _, d := range list {
		var row []string
		if !history {
			row = append(row, d.OrgName)
		}
		row = append(row, strconv.Itoa(d.Year), l.Money(d.Total), l.Money(d.PME), l.Percent(d.PMEShare()), l.Money(d.ETI),
			decimal(l, d.PaymentDays), l.Percent(d.OnTime/100))
		if history {
			by := d.AuthorName
			if by == "" {
				by = l.T("declarations.source." + d.Source)
			}
			row = append(row, strconv.Itoa(d.Version), by+", "+l.DateTime(d.CreatedAt))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// declare records the buyer's declaration (a new year or a correction).
func (s *Server) declare(w http.ResponseWriter, r *http.Request) {
	a := actorFrom(r.Context())
	in := indicator.Input{Year: r.PostFormValue("year"), Total: r.PostFormValue("total"), PME: r.PostFormValue("pme"), ETI: r.PostFormValue("eti"),
		PaymentDays: r.PostFormValue("payment_days"), OnTime: r.PostFormValue("on_time")}
	_, err := s.indicators.Declare(r.Context(), a, a.OrgID, in)
	if errs, ok := fieldErrors(err); ok {
		s.declarationsPage(w, r, http.StatusUnprocessableEntity, in, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "declarations.flash_saved")
	http.Redirect(w, r, "/espace/declarations", http.StatusSeeOther)
}

// staffDeclarations is staff's page: import a file, the latest imports,
// the declarations that count for a year.
func (s *Server) staffDeclarations(w http.ResponseWriter, r *http.Request) {
	s.staffDeclarationsPage(w, r, http.StatusOK, nil)
}

func (s *Server) staffDeclarationsPage(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	imports, err := s.indicators.Imports(r.Context(), a)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	// One year at a time (the latest by default): a few hundred accounts,
	// where every year of every account would be thousands of lines.
	years, err := s.indicators.Years(r.Context(), a)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	year := 0
	if len(years) > 0 {
		year = yearParam(r, "annee", years[0])
	}
	var current []indicator.Declaration
	if year != 0 {
		if current, err = s.indicators.Current(r.Context(), a, year); err != nil {
			s.failure(w, r, err)
			return
		}
	}
	upload := withErrors(l, components.Form{Action: "/equipe/declarations/import", Submit: l.T("import.submit"), TestID: "import-form", Multipart: true,
		Fields: []components.Field{{Name: "file", Label: l.T("import.file"), Type: "file", Required: true, Accept: ".csv,text/csv",
			Hint: l.T("import.file_hint", "Columns", strings.Join(columnNames(), " ; "), "Max", indicator.MaxImportBytes>>20)}}}, errs)
	v := indicatorpage.Report{Page: s.page(r, "declarations.staff_title"), Title: l.T("declarations.staff_title"), Lead: l.T("declarations.staff_lead"),
		TestID: "staff-declarations"}
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "import", Title: l.T("import.title"), Lead: l.T("import.lead"), Forms: []components.Form{upload},
		Links: []indicatorpage.Link{{Href: "/equipe/declarations/modele.csv", Label: l.T("import.template"), TestID: "template"}}})
	imp := indicatorpage.Section{ID: "imports", Title: l.T("import.latest"), Empty: l.T("import.none")}
	for _, i := range imports {
		imp.Links = append(imp.Links, indicatorpage.Link{Href: fmt.Sprintf("/equipe/declarations/import/%d", i.ID), TestID: "import-link",
			Label: l.T("import.line", "File", i.FileName, "When", l.DateTime(i.CreatedAt), "Status", l.T("indicator.import.status."+i.Status),
				"Errors", i.ErrorCount)})
	}
	v.Sections = append(v.Sections, imp)
	title := l.T("declarations.current_all")
	if year != 0 {
		title = l.T("declarations.current_year", "Year", year)
	}
	inForce := indicatorpage.Section{ID: "en-vigueur", Title: title, Table: declarationTable(l, current, false),
		Empty: l.T("declarations.none"), Links: []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title")}}}
	if len(years) > 1 {
		var opts []components.Option
		for _, y := range years {
			opts = append(opts, components.Option{Value: strconv.Itoa(y), Label: strconv.Itoa(y)})
		}
		v.Filter = &components.Form{Action: "/equipe/declarations", Submit: l.T("observatory.show_year"),
			Fields: []components.Field{{Name: "annee", Label: l.T("observatory.year"), Type: "select", Value: strconv.Itoa(year), Options: opts}}}
	}
	v.Sections = append(v.Sections, inForce)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// columnNames are the import file's columns, in the template's order.
func columnNames() []string {
	var names []string
	for _, c := range indicator.Columns {
		names = append(names, c.Name)
	}
	return names
}

// declImportTemplate is an empty file with the expected header, in the
// format Excel saves in French.
func (s *Server) declImportTemplate(w http.ResponseWriter, r *http.Request) {
	head := columnNames()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="declarations-modele.csv"`)
	if err := spreadsheet.WriteCSV(w, [][]string{head}); err != nil {
		s.logError(r, "import template", err)
	}
}

// declImportUpload stores a file and starts its check.
func (s *Server) declImportUpload(w http.ResponseWriter, r *http.Request) {
	// parseForm left this body alone: the user is staff, it may be read.
	err := r.ParseMultipartForm(maxBody)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, map[string]string{"file": "indicator.err.too_large"})
		return
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		s.renderError(w, r, http.StatusBadRequest)
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, map[string]string{"file": "form.required"})
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, s.indicators.MaxImport+1))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	id, err := s.indicators.Upload(r.Context(), actorFrom(r.Context()), header.Filename, data)
	if errs, ok := fieldErrors(err); ok {
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/equipe/declarations/import/%d", id), http.StatusSeeOther)
}

func (s *Server) declImportOf(w http.ResponseWriter, r *http.Request) (indicator.Import, bool) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return indicator.Import{}, false
	}
	i, err := s.indicators.GetImport(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.failure(w, r, err)
		return i, false
	}
	return i, true
}

func progressText(l *i18n.Localizer, i indicator.Import) string {
	return l.T("import.progress_"+i.Status, "Done", l.Int(int64(i.Done)), "Total", l.Int(int64(i.Total)))
}

// declImportShow is where an import stands: its progress, then its errors
// and preview, then its result.
func (s *Server) declImportShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	i, ok := s.declImportOf(w, r)
	if !ok {
		return
	}
	base := fmt.Sprintf("/equipe/declarations/import/%d", i.ID)
	v := indicatorpage.Report{Page: s.page(r, "import.page_title"), Title: l.T("import.page_title"), TestID: "import"}
	st := indicatorpage.Section{ID: "etat", Title: l.T("import.status_title"), Facts: []components.Fact{
		{Label: l.T("import.file"), Value: i.FileName},
		{Label: l.T("import.size"), Value: l.T("import.bytes", "Size", l.Int(i.Size))},
		{Label: l.T("import.by"), Value: i.AuthorName + ", " + l.DateTime(i.CreatedAt)},
		{Label: l.T("import.status"), Value: l.T("indicator.import.status." + i.Status)},
	}}
	if i.Running() {
		st.Progress = &indicatorpage.Progress{Label: l.T("import.progress_label"), Done: i.Done, Total: i.Total, Text: progressText(l, i),
			StatusURL: base + "/etat", Refresh: base, RefreshLabel: l.T("import.refresh")}
	}
	switch i.Status {
	case indicator.ImportImported:
		st.Alert, st.AlertKind = l.T("import.done", "Count", i.Valid), "success"
		st.Links = []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title"), TestID: "to-observatory"}}
	case indicator.ImportFailed:
		st.Alert, st.AlertKind = l.T(i.Failure), "error"
	}
	v.Sections = append(v.Sections, st)
	if i.Status == indicator.ImportChecked {
		errs := indicatorpage.Section{ID: "erreurs", Title: l.T("import.errors_title", "Count", i.ErrorCount), Empty: l.T("import.no_errors")}
		if i.ErrorCount > 0 {
			errs.Alert, errs.AlertKind = l.T("import.refused", "Count", i.ErrorCount, "Shown", len(i.Errors)), "error"
			t := &indicatorpage.Table{TestID: "import-errors", Headers: []string{l.T("import.line_no"), l.T("import.column"), l.T("import.problem"), l.T("import.value")}}
			for _, e := range i.Errors {
				t.Rows = append(t.Rows, []string{strconv.Itoa(e.Line), e.Column, l.T(e.Code, "Ref", e.Ref, "Got", e.Got, "Column", e.Column), e.Value})
			}
			errs.Table = t
		}
		v.Sections = append(v.Sections, errs)
		pre := indicatorpage.Section{ID: "apercu", Title: l.T("import.preview_title"), Facts: []components.Fact{
			{Label: l.T("indicator.preview.kind.new"), Value: l.Int(int64(i.Preview.New))},
			{Label: l.T("indicator.preview.kind.correction"), Value: l.Int(int64(i.Preview.Corrections))},
			{Label: l.T("indicator.preview.kind.unchanged"), Value: l.Int(int64(i.Preview.Unchanged))},
		}}
		t := &indicatorpage.Table{TestID: "import-preview", Headers: []string{l.T("import.line_no"), l.T("observatory.account"), l.T("declarations.year"),
			l.T("declarations.total"), l.T("observatory.pme_share"), l.T("import.effect")}}
		for _, p := range i.Preview.Lines {
			t.Rows = append(t.Rows, []string{strconv.Itoa(p.Line), p.Name + " (" + p.SIREN + ")", strconv.Itoa(p.Year), l.Money(p.Figures.Total),
				l.Percent(p.Figures.PMEShare()), l.T("indicator.preview.kind." + p.Kind)})
		}
		if len(t.Rows) > 0 {
			pre.Table = t
		}
		if i.Importable() {
			pre.Forms = []components.Form{{Action: base + "/valider", TestID: "import-confirm",
				Submit: l.T("import.confirm", "Count", i.Preview.New+i.Preview.Corrections)}}
		} else if i.ErrorCount == 0 {
			pre.Alert, pre.AlertKind = l.T("import.nothing_new"), "warning"
		}
		pre.Links = []indicatorpage.Link{{Href: "/equipe/declarations", Label: l.T("import.another")}}
		v.Sections = append(v.Sections, pre)
	}
	s.render(w, r, http.StatusOK, indicatorpage.ReportView(v))
}

// declImportStatus is the import's progress for the page's script.
func (s *Server) declImportStatus(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	i, ok := s.declImportOf(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": i.Status, "running": i.Running(), "done": i.Done, "total": i.Total,
		"text": progressText(l, i)})
}

// declImportConfirm writes a checked file.
func (s *Server) declImportConfirm(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if err := s.indicators.ConfirmImport(r.Context(), actorFrom(r.Context()), id); err != nil {
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/equipe/declarations/import/%d", id), http.StatusSeeOther)
}

// ratingFields is the barometer form with what was typed.
func ratingFields(l *i18n.Localizer, q indicator.Questionnaire, in indicator.RatingInput) []components.Field {
	opts := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, a := range q.Accounts {
		opts = append(opts, components.Option{Value: strconv.FormatInt(a.ID, 10), Label: a.Name})
	}
	fields := []components.Field{{Name: "account", Label: l.T("barometer.account"), Type: "select", Value: in.Account, Options: opts, Required: true}}
	for i, c := range indicator.Criteria {
		fields = append(fields, components.Field{Name: c, Label: l.T("indicator.criterion." + c), Type: "number", Value: in.Scores[i], Required: true,
			Hint: l.T("barometer.score_hint." + c)})
	}
	return append(fields, components.Field{Name: "comment", Label: l.T("barometer.comment"), Type: "textarea", Value: in.Comment, MaxLength: 2000,
		Hint: l.T("barometer.comment_hint")})
}

// barometer is the SME's questionnaire of the open campaign.
func (s *Server) barometer(w http.ResponseWriter, r *http.Request) {
	in := indicator.RatingInput{Account: r.URL.Query().Get("compte")}
	s.barometerPage(w, r, http.StatusOK, in, nil)
}

func (s *Server) barometerPage(w http.ResponseWriter, r *http.Request, status int, in indicator.RatingInput, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	q, err := s.indicators.Questionnaire(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := indicatorpage.Report{Page: s.page(r, "barometer.title"), Title: l.T("barometer.title"), Lead: l.T("barometer.lead", "Min", indicator.MinAnswers),
		TestID: "barometer"}
	if q.Campaign == nil {
		v.Sections = []indicatorpage.Section{{ID: "campagne", Title: l.T("barometer.campaign_none_title"), Empty: l.T("barometer.campaign_none")}}
		s.render(w, r, status, indicatorpage.ReportView(v))
		return
	}
	// Changing an answer: the form starts from it.
	if status == http.StatusOK && in.Account != "" {
		for _, a := range q.Answers {
			if strconv.FormatInt(a.ID, 10) == in.Account {
				for i := range in.Scores {
					in.Scores[i] = strconv.Itoa(a.Scores[i])
				}
				in.Comment = a.Comment
			}
		}
	}
	form := withErrors(l, components.Form{Action: "/barometre", Submit: l.T("barometer.submit"), TestID: "barometer-form",
		Fields: ratingFields(l, q, in)}, errs)
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "repondre", Title: l.T("barometer.campaign_title", "Year", q.Campaign.Year),
		Lead: l.T("barometer.anonymous"), Forms: []components.Form{form}})
	mine := indicatorpage.Section{ID: "mes-reponses", Title: l.T("barometer.mine"), Empty: l.T("barometer.mine_empty")}
	t := &indicatorpage.Table{TestID: "my-answers", Headers: []string{l.T("barometer.account")}}
	for _, c := range indicator.Criteria {
		t.Headers = append(t.Headers, l.T("indicator.criterion."+c))
	}
	t.Headers = append(t.Headers, l.T("barometer.updated"))
	for _, a := range q.Answers {
		row := []string{a.Name}
		for _, sc := range a.Scores {
			row = append(row, strconv.Itoa(sc))
		}
		t.Rows = append(t.Rows, append(row, l.DateTime(a.UpdatedAt)))
		mine.Links = append(mine.Links, indicatorpage.Link{Href: fmt.Sprintf("/barometre?compte=%d#repondre", a.ID),
			Label: l.T("barometer.change", "Name", a.Name), TestID: "change-answer"})
	}
	mine.Table = t
	v.Sections = append(v.Sections, mine)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// barometerAnswer records an SME's rating.
func (s *Server) barometerAnswer(w http.ResponseWriter, r *http.Request) {
	in := indicator.RatingInput{Account: r.PostFormValue("account"), Comment: r.PostFormValue("comment")}
	for i, c := range indicator.Criteria {
		in.Scores[i] = r.PostFormValue(c)
	}
	err := s.indicators.Answer(r.Context(), actorFrom(r.Context()), in)
	if errs, ok := fieldErrors(err); ok {
		s.barometerPage(w, r, http.StatusUnprocessableEntity, in, errs)
		return
	}
	if errors.Is(err, indicator.ErrInvalidState) {
		// Staff closed the campaign while the form was open: the page
		// says there is none now, rather than an error page.
		s.flash(r, "barometer.flash_closed_meanwhile")
		http.Redirect(w, r, "/barometre", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_saved")
	http.Redirect(w, r, "/barometre#mes-reponses", http.StatusSeeOther)
}

// staffBarometer is where staff open and close campaigns.
func (s *Server) staffBarometer(w http.ResponseWriter, r *http.Request) {
	s.staffBarometerPage(w, r, http.StatusOK, strconv.Itoa(time.Now().Year()), nil)
}

func (s *Server) staffBarometerPage(w http.ResponseWriter, r *http.Request, status int, year string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	list, err := s.indicators.Campaigns(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := indicatorpage.Report{Page: s.page(r, "barometer.staff_title"), Title: l.T("barometer.staff_title"),
		Lead: l.T("barometer.staff_lead", "Min", indicator.MinAnswers), TestID: "staff-barometer"}
	sec := indicatorpage.Section{ID: "campagne", Title: l.T("barometer.open_title")}
	var open *indicator.Campaign
	for i := range list {
		if list[i].Open() {
			open = &list[i]
		}
	}
	if open == nil {
		sec.Forms = []components.Form{withErrors(l, components.Form{Action: "/equipe/barometre", Submit: l.T("barometer.open_submit"), TestID: "open-campaign",
			Fields: []components.Field{{Name: "year", Label: l.T("barometer.year"), Type: "number", Value: year, Required: true}}}, errs)}
	} else {
		sec.Facts = []components.Fact{{Label: l.T("barometer.open_since"), Value: l.DateTime(open.OpenedAt)},
			{Label: l.T("barometer.answers"), Value: l.Int(int64(open.Answers))}}
		sec.Forms = []components.Form{{Action: fmt.Sprintf("/equipe/barometre/%d/cloturer", open.ID), Submit: l.T("barometer.close_submit", "Year", open.Year),
			Danger: true, TestID: "close-campaign"}}
	}
	v.Sections = append(v.Sections, sec)
	all := indicatorpage.Section{ID: "campagnes", Title: l.T("barometer.campaigns"), Empty: l.T("barometer.campaigns_none")}
	t := &indicatorpage.Table{Headers: []string{l.T("barometer.year"), l.T("barometer.opened"), l.T("barometer.closed"), l.T("barometer.answers")}}
	for _, c := range list {
		closed := l.T("barometer.still_open")
		if c.ClosedAt != nil {
			closed = l.DateTime(*c.ClosedAt)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Year), l.DateTime(c.OpenedAt), closed, l.Int(int64(c.Answers))})
		all.Links = append(all.Links, indicatorpage.Link{Href: fmt.Sprintf("/observatoire?campagne=%d#barometre", c.ID), Label: l.T("barometer.results_year", "Year", c.Year)})
	}
	if len(list) > 0 {
		all.Table = t
	}
	v.Sections = append(v.Sections, all)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// campaignOpen opens a year's campaign.
func (s *Server) campaignOpen(w http.ResponseWriter, r *http.Request) {
	year := r.PostFormValue("year")
	_, err := s.indicators.OpenCampaign(r.Context(), actorFrom(r.Context()), year)
	if errs, ok := fieldErrors(err); ok {
		s.staffBarometerPage(w, r, http.StatusUnprocessableEntity, year, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_opened")
	http.Redirect(w, r, "/equipe/barometre", http.StatusSeeOther)
}

// campaignClose closes a campaign.
func (s *Server) campaignClose(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if err := s.indicators.CloseCampaign(r.Context(), actorFrom(r.Context()), id); err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_closed")
	http.Redirect(w, r, "/equipe/barometre", http.StatusSeeOther)
}

// duration writes a median time in hours or days.
func duration(l *i18n.Localizer, d *time.Duration) string {
	if d == nil {
		return "—"
	}
	if *d < 48*time.Hour {
		return l.T("figures.hours", "Count", decimal(l, d.Hours()))
	}
	return l.T("figures.days", "Count", decimal(l, d.Hours()/24))
}

func share(l *i18n.Localizer, v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return l.Percent(v)
}

// platformFigures is staff's view of the platform: applications, content
// waiting, the funnel by month and how requests are answered.
func (s *Server) platformFigures(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	p, err := s.indicators.Platform(r.Context(), a)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	waiting, err := s.moderation.Summary(r.Context(), a)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	now := time.Now()
	v := indicatorpage.Report{Page: s.page(r, "figures.title"), Title: l.T("figures.title"), Lead: l.T("figures.lead"), TestID: "figures"}
	apps := indicatorpage.Section{ID: "adhesions", Title: l.T("figures.applications"), Facts: []components.Fact{
		{Label: l.T("figures.applications_waiting"), Value: l.Int(int64(p.ApplicationsWaiting))},
		{Label: l.T("figures.median_decision", "Count", p.Decisions), Value: duration(l, p.MedianDecision)},
	}}
	if p.OldestApplication != nil {
		age := now.Sub(*p.OldestApplication)
		apps.Facts = append(apps.Facts, components.Fact{Label: l.T("figures.oldest_application"), Value: duration(l, &age)})
	}
	v.Sections = append(v.Sections, apps)
	content := indicatorpage.Section{ID: "moderation", Title: l.T("figures.content")}
	for _, wt := range waiting {
		val := l.Int(int64(wt.Count))
		if !wt.Oldest.IsZero() {
			age := now.Sub(wt.Oldest)
			val = l.T("figures.waiting_since", "Count", l.Int(int64(wt.Count)), "Age", duration(l, &age))
		}
		content.Facts = append(content.Facts, components.Fact{Label: l.T("moderation.kind." + wt.Kind), Value: val})
	}
	v.Sections = append(v.Sections, content)
	funnel := funnelChart(l, p)
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "entonnoir", Title: l.T("figures.funnel_title"), Lead: l.T("figures.funnel_lead"),
		Chart: &funnel, Format: countAxis(l)})
	t := &indicatorpage.Table{TestID: "requests-by-month", Caption: l.T("figures.requests_caption"), Headers: []string{l.T("figures.month"),
		l.T("figures.published"), l.T("figures.answered_share"), l.T("figures.first_answer"), l.T("figures.answers"), l.T("figures.replied_share")}}
	for _, m := range p.Months {
		as, aok := m.AnsweredShare()
		rs, rok := m.RepliedShare()
		t.Rows = append(t.Rows, []string{m.Month.Format("01/2006"), l.Int(int64(m.Published)), share(l, as, aok), duration(l, m.FirstAnswer),
			l.Int(int64(m.Answers)), share(l, rs, rok)})
	}
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "demandes", Title: l.T("figures.requests"), Table: t})
	v.Sections[0].Links = []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title")}, {Href: "/equipe/barometre", Label: l.T("barometer.staff_title")}}
	s.render(w, r, http.StatusOK, indicatorpage.ReportView(v))
}

// platformCSV exports the funnel chart's numbers.
func (s *Server) platformCSV(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	p, err := s.indicators.Platform(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.writeChartCSV(w, r, funnelChart(l, p), chartFunnel)
}

// smeFigureFacts are an SME's own figures, for its home page.
func (s *Server) smeFigureFacts(r *http.Request, l *i18n.Localizer, a member.Actor) ([]components.Fact, error) {
	f, err := s.indicators.SMEFigures(r.Context(), a)
	if err != nil {
		return nil, err
	}
	return []components.Fact{
		{Label: l.T("figures.sme_views"), Value: l.Int(int64(f.OfferViews))},
		{Label: l.T("figures.sme_matches"), Value: l.Int(int64(f.Matches))},
		{Label: l.T("figures.sme_answers"), Value: l.Int(int64(f.Answers))},
		{Label: l.T("figures.sme_replies"), Value: l.Int(int64(f.Replies))},
		{Label: l.T("figures.sme_won"), Value: l.Int(int64(f.Won))},
	}, nil
}
