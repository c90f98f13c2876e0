package server

import (
	"net/http"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	"passerelle/web/pages/staff"
)

// staffAudit is the journal of decisions: every declared action, translated.
func (s *Server) staffAudit(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), Query: q.Get("q"), Page: pageParam(r)}
	if !audit.Known(f.Action) {
		f.Action = ""
	}
	opts := []components.Option{{Value: "", Label: l.T("audit.all_actions")}}
	for _, a := range audit.Actions() {
		opts = append(opts, components.Option{Value: string(a), Label: l.T(a.MessageID())})
	}
	entries, total, err := s.audit.List(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	filter := components.Form{Action: "/equipe/journal", Submit: l.T("list.filter"), Fields: []components.Field{
		{Name: "action", Label: l.T("audit.action"), Type: "select", Value: f.Action, Options: opts},
		{Name: "q", Label: l.T("audit.search"), Type: "search", Value: f.Query},
	}}
	v := staff.Table{Page: s.page(r, "audit.title"), Title: l.T("audit.title"), Lead: l.T("audit.lead"), Filter: &filter,
		Total: l.T("list.total", "Count", total), Empty: l.T("audit.empty"), Pager: pager(l, r, f.Page, total, audit.PageSize),
		Headers: []string{l.T("audit.when"), l.T("audit.who"), l.T("audit.action"), l.T("audit.target"), l.T("audit.why")}}
	for _, e := range entries {
		who := e.ActorLabel
		if who == "" {
			who = l.T("audit.deleted_user")
		}
		v.Rows = append(v.Rows, []string{l.Date(e.At) + " " + e.At.Format("15:04"), who,
			l.T(audit.Action(e.Action).MessageID()), e.TargetLabel, e.Reason})
	}
	s.render(w, r, http.StatusOK, staff.TableView(v))
}
