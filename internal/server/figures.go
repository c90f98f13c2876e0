package server

import (
	"net/http"
	"time"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// Staff's figures of the platform, and an SME's own.

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
	for _, wt := range p.Waiting {
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
