package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/registers"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// The public buyers observatory's charts (their CSV names).
const (
	chartBuyerContracts = "marches"
	chartBuyerAmounts   = "montants"
	chartBuyerList      = "acheteurs"
	chartBuyerMine      = "declare-mesure"
)

// buyersScope reads ?region= and ?acheteur= into a scope, its words and
// the query string that keeps it in links.
type buyersScope struct {
	scope  registers.Scope
	label  string
	region string
	buyer  string
	query  url.Values
	errKey string // the buyer field's error
}

func (s *Server) readBuyersScope(r *http.Request, l *i18n.Localizer) (buyersScope, error) {
	q := r.URL.Query()
	b := buyersScope{label: l.T("buyers.scope_all"), query: url.Values{}}
	if reg, ok := s.tax.Region(q.Get("region")); ok {
		b.region = reg.Code
		b.scope.Departements = []string{}
		for _, d := range s.tax.DepartementsIn(reg.Code) {
			b.scope.Departements = append(b.scope.Departements, d.Code)
		}
		b.label = reg.Name
		b.query.Set("region", reg.Code)
	}
	if raw := q.Get("acheteur"); raw != "" {
		b.buyer = raw
		siren := taxonomy.NormalizeID(raw)
		if !taxonomy.ValidSIREN(siren) {
			b.errKey = "member.siren_checksum"
			return b, nil
		}
		name, err := registers.Buyer(r.Context(), s.db, siren)
		if errors.Is(err, registers.ErrUnknownBuyer) {
			b.errKey = "buyers.unknown_buyer"
			return b, nil
		}
		if err != nil {
			return b, err
		}
		b.scope = registers.Scope{Buyer: siren}
		b.label = l.T("buyers.buyer_title", "Name", name, "SIREN", siren)
		b.query = url.Values{"acheteur": {siren}}
	}
	return b, nil
}

// categorySeries turns per-year splits into one percentage series per
// category (contracts or amounts).
func categorySeries(l *i18n.Localizer, splits []registers.Split) []components.Series {
	var out []components.Series
	for _, cat := range registers.Categories {
		var shares []float64
		var present []bool
		for _, sp := range splits {
			shares, present = append(shares, sp.Share(cat)), append(present, sp.Total() > 0)
		}
		name := map[string]string{"PME": "category.pme", "ETI": "category.eti", "GE": "category.ge", "": "category.unknown"}[cat]
		out = append(out, percentSeries(l, l.T(name), shares, present))
	}
	return out
}

func (b buyersScope) csv(chart string, extra url.Values) string {
	q := url.Values{}
	for k, v := range b.query {
		q[k] = v
	}
	for k, v := range extra {
		q[k] = v
	}
	u := "/acheteurs-publics/" + chart + ".csv"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func buyerYearCharts(l *i18n.Localizer, b buyersScope, years []registers.YearShares) (contracts, amounts components.Chart) {
	contracts = chartFrame(l, chartBuyerContracts, l.T("buyers.contracts_title", "Scope", b.label), l.T("buyers.contracts_desc", "Scope", b.label),
		l.T("buyers.year"), b.csv(chartBuyerContracts, nil))
	amounts = chartFrame(l, chartBuyerAmounts, l.T("buyers.amounts_title", "Scope", b.label), l.T("buyers.amounts_desc", "Scope", b.label),
		l.T("buyers.year"), b.csv(chartBuyerAmounts, nil))
	var cs, as []registers.Split
	for _, y := range years {
		contracts.Categories = append(contracts.Categories, strconv.Itoa(y.Year))
		amounts.Categories = append(amounts.Categories, strconv.Itoa(y.Year))
		cs, as = append(cs, y.Contracts), append(as, y.Amounts)
	}
	contracts.Series, amounts.Series = categorySeries(l, cs), categorySeries(l, as)
	contracts.Max, amounts.Max = 100, 100
	return contracts, amounts
}

func buyerListChart(l *i18n.Localizer, b buyersScope, year int, list []registers.BuyerShares) components.Chart {
	c := chartFrame(l, chartBuyerList, l.T("buyers.list_title", "Year", year, "Scope", b.label), l.T("buyers.list_desc", "Year", year, "Scope", b.label),
		l.T("buyers.buyer_column"), b.csv(chartBuyerList, url.Values{"annee": {strconv.Itoa(year)}}))
	c.Horizontal, c.Max = true, 100
	var splits []registers.Split
	for _, x := range list {
		c.Categories = append(c.Categories, fmt.Sprintf("%s (%s)", x.Name, l.Int(int64(x.Contracts.Total()+0.5))))
		splits = append(splits, x.Contracts)
	}
	c.Series = categorySeries(l, splits)
	return c
}

// mineChart puts a public member buyer's declared PME share (its current
// declarations, as the purchasing observatory reads them) beside the one
// measured on its DECP contracts, year by year.
func (s *Server) mineChart(r *http.Request, l *i18n.Localizer, siren string) (*components.Chart, error) {
	o, err := s.indicators.Observatory(r.Context(), actorFrom(r.Context()))
	if err != nil {
		return nil, err
	}
	measured, err := registers.Shares(r.Context(), s.db, registers.Scope{Buyer: siren})
	if err != nil {
		return nil, err
	}
	declared := map[int]float64{}
	for _, acc := range o.Accounts {
		if acc.Own {
			for y, d := range acc.ByYear {
				declared[y] = d.PMEShare()
			}
		}
	}
	byYear := map[int]registers.YearShares{}
	var years []int
	for _, m := range measured {
		byYear[m.Year] = m
		years = append(years, m.Year)
	}
	for y := range declared {
		if _, ok := byYear[y]; !ok {
			years = append(years, y)
		}
	}
	slices.Sort(years)
	c := chartFrame(l, chartBuyerMine, l.T("buyers.mine_title"), l.T("buyers.mine_desc"), l.T("buyers.year"), "/acheteurs-publics/"+chartBuyerMine+".csv")
	var dv, mv []float64
	var dp, mp []bool
	for _, y := range years {
		c.Categories = append(c.Categories, strconv.Itoa(y))
		d, ok := declared[y]
		dv, dp = append(dv, d), append(dp, ok)
		m, ok := byYear[y]
		mv, mp = append(mv, m.Amounts.Share("PME")), append(mp, ok && m.Amounts.Total() > 0)
	}
	c.Series = []components.Series{percentSeries(l, l.T("buyers.declared"), dv, dp), percentSeries(l, l.T("buyers.measured"), mv, mp)}
	c.Max = 100
	return &c, nil
}

// ownBuyer gives the SIREN of the reader's organisation when it is a
// public buyer member: its DECP figures go beside its declarations.
func (s *Server) ownBuyer(r *http.Request) (string, bool, error) {
	a := actorFrom(r.Context())
	if !a.IsBuyer() || a.Kind != member.KindPublic {
		return "", false, nil
	}
	o, err := s.members.Organisation(r.Context(), a, a.OrgID)
	if err != nil {
		return "", false, err
	}
	return o.SIREN, true, nil
}

// buyersYear is the list's year: asked, or the latest with contracts.
func buyersYear(r *http.Request, years []registers.YearShares) int {
	def := 0
	if n := len(years); n > 0 {
		def = years[n-1].Year
	}
	return yearParam(r, "annee", def)
}

// publicBuyers is the observatory of public buyers: open to everyone, as
// the registers it reads are.
func (s *Server) publicBuyers(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	b, err := s.readBuyersScope(r, l)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	years, err := registers.Shares(r.Context(), s.db, b.scope)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	year := buyersYear(r, years)
	regions := []components.Option{{Value: "", Label: l.T("buyers.scope_all")}}
	for _, reg := range s.tax.Regions() {
		regions = append(regions, components.Option{Value: reg.Code, Label: reg.Name})
	}
	var yearOpts []components.Option
	for i := len(years) - 1; i >= 0; i-- {
		yearOpts = append(yearOpts, components.Option{Value: strconv.Itoa(years[i].Year), Label: strconv.Itoa(years[i].Year)})
	}
	filter := components.Form{Action: "/acheteurs-publics", Submit: l.T("buyers.show"), Fields: []components.Field{
		{Name: "region", Label: l.T("buyers.region"), Type: "select", Value: b.region, Options: regions},
		{Name: "acheteur", Label: l.T("buyers.buyer"), Type: "search", Value: b.buyer, Hint: l.T("buyers.buyer_hint"), MaxLength: 20},
	}}
	if len(yearOpts) > 0 {
		filter.Fields = append(filter.Fields, components.Field{Name: "annee", Label: l.T("buyers.year"), Type: "select", Value: strconv.Itoa(year), Options: yearOpts})
	}
	status := http.StatusOK
	if b.errKey != "" {
		filter = withErrors(l, filter, map[string]string{"acheteur": b.errKey})
		status = http.StatusUnprocessableEntity
	}
	v := indicatorpage.Report{Page: s.page(r, "buyers.title"), Title: l.T("buyers.title"), Lead: l.T("buyers.lead"), TestID: "public-buyers", Filter: &filter}
	contracts, amounts := buyerYearCharts(l, b, years)
	first := indicatorpage.Section{ID: "marches", Title: contracts.Title, Lead: l.T("buyers.method"), Chart: &contracts, Format: percentAxis(l)}
	all := registers.Split{}
	for _, y := range years {
		for k, n := range y.Contracts {
			all[k] += n
		}
	}
	if share := all.Share(""); share > 0.5 {
		first.Alert, first.AlertKind = l.T("buyers.mostly_unknown", "Share", l.Percent(share)), "warning"
	}
	v.Sections = append(v.Sections, first,
		indicatorpage.Section{ID: "montants", Title: amounts.Title, Chart: &amounts, Format: percentAxis(l)})
	if b.scope.Buyer == "" && year > 0 {
		list, err := registers.Buyers(r.Context(), s.db, b.scope, year, 20)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		c := buyerListChart(l, b, year, list)
		sec := indicatorpage.Section{ID: "acheteurs", Title: c.Title, Chart: &c, Format: percentAxis(l)}
		for _, x := range list {
			sec.Links = append(sec.Links, indicatorpage.Link{Href: "/acheteurs-publics?acheteur=" + x.SIREN, Label: x.Name})
		}
		v.Sections = append(v.Sections, sec)
	}
	if siren, ok, err := s.ownBuyer(r); err != nil {
		s.failure(w, r, err)
		return
	} else if ok {
		c, err := s.mineChart(r, l, siren)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		v.Sections = append(v.Sections, indicatorpage.Section{ID: "vos-chiffres", Title: c.Title, Lead: l.T("buyers.mine_lead"), Chart: c, Format: percentAxis(l),
			Links: []indicatorpage.Link{{Href: "/acheteurs-publics?acheteur=" + siren, Label: l.T("buyers.title")}, {Href: "/espace/declarations", Label: l.T("nav.declarations")}}})
	}
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// publicBuyersCSV exports exactly the numbers of one of the page's charts.
func (s *Server) publicBuyersCSV(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	name, ok := strings.CutSuffix(chi.URLParam(r, "chart"), ".csv")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	b, err := s.readBuyersScope(r, l)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	if b.errKey != "" { // a SIREN that names no public buyer: no such file
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	years, err := registers.Shares(r.Context(), s.db, b.scope)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	var c components.Chart
	switch name {
	case chartBuyerContracts:
		c, _ = buyerYearCharts(l, b, years)
	case chartBuyerAmounts:
		_, c = buyerYearCharts(l, b, years)
	case chartBuyerList:
		year := buyersYear(r, years)
		list, err := registers.Buyers(r.Context(), s.db, b.scope, year, 20)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		c = buyerListChart(l, b, year, list)
	case chartBuyerMine:
		siren, ok, err := s.ownBuyer(r)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		if !ok {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
		mc, err := s.mineChart(r, l, siren)
		if err != nil {
			s.failure(w, r, err)
			return
		}
		c = *mc
	default:
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.writeChartCSV(w, r, c, "acheteurs-publics-"+name)
}

// staffRegisters lists the registers' imports and what each did.
func (s *Server) staffRegisters(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	runs, err := registers.Runs(r.Context(), s.db, actorFrom(r.Context()), 100)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	t := &indicatorpage.Table{TestID: "register-runs", Caption: l.T("registers.title"), Headers: []string{l.T("registers.register"), l.T("registers.source"),
		l.T("registers.started"), l.T("registers.duration"), l.T("registers.result"), l.T("registers.read"), l.T("registers.kept"),
		l.T("registers.written"), l.T("registers.unchanged"), l.T("registers.removed"), l.T("registers.duplicates"), l.T("registers.rejected")}}
	for _, x := range runs {
		rep := x.Report
		result := l.T("registers.running")
		if x.OK != nil && *x.OK {
			result = l.T("registers.ok")
		} else if x.OK != nil {
			result = l.T("registers.failed", "Error", x.Error)
		}
		var rejected []string
		for _, reason := range rep.Reasons() {
			rejected = append(rejected, fmt.Sprintf("%s : %s", reason, l.Int(rep.Rejected[reason])))
		}
		rej := l.Int(rep.RejectedTotal())
		if len(rejected) > 0 {
			rej += " (" + strings.Join(rejected, ", ") + ")"
		}
		t.Rows = append(t.Rows, []string{strings.ToUpper(x.Register), x.Source, l.DateTime(x.StartedAt),
			l.T("registers.seconds", "Seconds", decimal(l, rep.Seconds)), result, l.Int(rep.Read),
			l.Int(rep.Units + rep.Establishments + rep.Contracts), l.Int(rep.Written), l.Int(rep.Unchanged), l.Int(rep.Removed),
			l.Int(rep.Duplicates), rej})
	}
	v := indicatorpage.Report{Page: s.page(r, "registers.title"), Title: l.T("registers.title"), Lead: l.T("registers.lead"), TestID: "registers",
		Sections: []indicatorpage.Section{{ID: "imports", Title: l.T("registers.title"), Table: t, Empty: l.T("registers.empty"),
			Links: []indicatorpage.Link{{Href: "/acheteurs-publics", Label: l.T("buyers.title")}}}}}
	if len(runs) == 0 {
		v.Sections[0].Table = nil
	}
	s.render(w, r, http.StatusOK, indicatorpage.ReportView(v))
}
