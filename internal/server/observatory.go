package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// The observatory: the declarations' aggregate, the accounts, the
// platform's contribution and the barometer's results.

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
	campaignID := queryID(r, "campagne")
	rep, err := s.indicators.Report(r.Context(), a, campaignID)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	o, campaign, scores := rep.Observatory, rep.Campaign, rep.Scores
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
		sec := indicatorpage.Section{ID: "comptes", Title: l.T("observatory.accounts_section", "Year", year), Chart: &accounts, Format: percentAxis(l)}
		if a.IsBuyer() {
			sec.Lead = l.T("observatory.accounts_buyer_lead")
		}
		var opts []components.Option
		for i := len(o.Years) - 1; i >= 0; i-- {
			opts = append(opts, components.Option{Value: strconv.Itoa(o.Years[i]), Label: strconv.Itoa(o.Years[i])})
		}
		if len(opts) > 0 {
			// The year chooses this section's accounts only: the trend,
			// the contribution and the barometer have their own years.
			sec.Filter = &components.Form{Action: "/observatoire#comptes", Submit: l.T("observatory.show_year"),
				Fields: []components.Field{{Name: "annee", Label: l.T("observatory.year"), Type: "select", Value: strconv.Itoa(year), Options: opts}}}
		}
		v.Sections = append(v.Sections, sec)
	}

	contribution := contributionChart(l, o)
	sec = indicatorpage.Section{ID: "contribution", Title: l.T("observatory.contribution_title"), Lead: l.T("observatory.contribution_lead"),
		Chart: &contribution, Format: countAxis(l)}
	if total := o.ContributionTotal(); total.PMEContracts > 0 {
		sec.Facts = []components.Fact{{Label: l.T("observatory.pme_contracts"), Value: l.Int(int64(total.PMEContracts))},
			{Label: l.T("observatory.pme_amount"), Value: l.Money(total.PMEAmount)}}
		if would, ok := total.WouldNotShare(); ok {
			sec.Facts = append(sec.Facts, components.Fact{Label: l.T("observatory.would_not_share"), Value: l.Percent(would)})
		}
	}
	v.Sections = append(v.Sections, sec)
	plansYear := s.plans.Now().Year()
	plans, err := s.plans.List(r.Context(), a, plansYear)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	plansC := plansChart(l, plansYear, plans)
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "plans", Title: plansC.Title, Lead: l.T("observatory.plans_lead"), Chart: &plansC,
		Format: countAxis(l), Links: []indicatorpage.Link{{Href: "/plans", Label: l.T("plans.title")}}})
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
	case chartPlans:
		year := s.plans.Now().Year()
		list, err := s.plans.List(r.Context(), a, year)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		c = plansChart(l, year, list)
	case chartBarometer:
		id := queryID(r, "campagne")
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
