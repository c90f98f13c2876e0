package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/present"
	"passerelle/internal/registers"
	"passerelle/web/components"
	"passerelle/web/pages/staff"
)

// decisionPaths maps the French path segment to a decision.
var decisionPaths = map[string]member.Decision{
	"approuver": member.Approve, "refuser": member.Reject, "suspendre": member.Suspend, "reactiver": member.Reinstate,
}

// rowError is a reason typed for a row whose decision failed validation.
type rowError struct {
	orgID    int64
	decision string
	reason   string
	err      string
}

// orgFacts are the lines staff read about an organisation in their lists.
func (s *Server) orgFacts(l *i18n.Localizer, o member.Organisation) []string {
	facts := s.labels(l).OrgLines(present.Org{SIREN: o.SIREN, Kind: string(o.Kind), NAFCode: o.NAFCode,
		HeadcountBand: o.HeadcountBand, Departement: o.Departement, Website: o.Website})
	if o.Description != "" {
		facts = append(facts, o.Description)
	}
	if o.StatusReason != "" {
		facts = append(facts, l.T("staff.reason", "Reason", o.StatusReason))
	}
	return facts
}

func decision(l *i18n.Localizer, orgID int64, path string, re *rowError, danger bool, needsReason bool) staff.Decision {
	d := staff.Decision{
		Action: fmt.Sprintf("/equipe/organisations/%d/%s", orgID, path),
		Label:  l.T("staff.decision." + path), Danger: danger, TestID: "decide-" + path,
	}
	if needsReason {
		d.ReasonLabel = l.T("staff.reason_label." + path)
	}
	if re != nil && re.orgID == orgID && re.decision == path {
		d.ReasonValue, d.ReasonError = re.reason, l.T(re.err)
	}
	return d
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, status int, re *rowError) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	page := pageParam(r)
	apps, total, err := s.members.Applications(r.Context(), a, page)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var declared []registers.Declared
	for _, ap := range apps {
		declared = append(declared, registers.Declared{SIREN: ap.SIREN, Kind: string(ap.Kind), NAFCode: ap.NAFCode, Departement: ap.Departement})
	}
	checks, err := registers.Compare(r.Context(), s.db, a, declared)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := staff.List{Page: s.page(r, "staff.queue_title"), Title: l.T("staff.queue_title"), Lead: l.T("staff.queue_lead"),
		Total: l.T("staff.queue_total", "Count", total), Empty: l.T("staff.queue_empty"), Pager: pager(l, r, page, total, member.PageSize)}
	for _, ap := range apps {
		row := staff.Row{ID: ap.ID, Title: ap.LegalName, Badge: l.T("status.applied"), BadgeKind: "applied",
			Facts: append(s.orgFacts(l, ap.Organisation),
				l.T("staff.applicant", "Name", ap.OwnerName, "Email", ap.OwnerEmail),
				l.T("staff.applied_on", "Date", l.Date(ap.CreatedAt))),
			Decisions: []staff.Decision{
				decision(l, ap.ID, "approuver", re, false, false),
				decision(l, ap.ID, "refuser", re, true, true),
			}}
		registerCheck(l, ap.Organisation, checks[ap.SIREN], &row)
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, staff.ListView(v))
}

func (s *Server) staffQueue(w http.ResponseWriter, r *http.Request) {
	s.queuePage(w, r, http.StatusOK, nil)
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, status int, re *rowError) {
	l := i18n.FromContext(r.Context())
	q := r.URL.Query()
	f := member.MemberFilter{Status: member.Status(q.Get("statut")), Query: q.Get("q"), Page: pageParam(r)}
	if f.Status != "" && f.Status != member.StatusMember && f.Status != member.StatusSuspended {
		f.Status = ""
	}
	orgs, total, err := s.members.Organisations(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	filter := components.Form{Action: "/equipe/membres", Submit: l.T("list.filter"), Fields: []components.Field{
		{Name: "q", Label: l.T("staff.search"), Type: "search", Value: f.Query},
		{Name: "statut", Label: l.T("staff.status"), Type: "select", Value: string(f.Status), Options: []components.Option{
			{Value: "", Label: l.T("staff.status_all")},
			{Value: "member", Label: l.T("status.member")}, {Value: "suspended", Label: l.T("status.suspended")}}},
	}}
	v := staff.List{Page: s.page(r, "staff.members_title"), Title: l.T("staff.members_title"), Lead: l.T("staff.members_lead"),
		Filter: &filter, Total: l.T("list.total", "Count", total), Empty: l.T("staff.members_empty"), Pager: pager(l, r, f.Page, total, member.PageSize)}
	for _, o := range orgs {
		row := staff.Row{ID: o.ID, Title: o.LegalName, Badge: l.T("status." + string(o.Status)), BadgeKind: string(o.Status),
			Facts: s.orgFacts(l, o)}
		if o.Status == member.StatusMember {
			row.Decisions = []staff.Decision{decision(l, o.ID, "suspendre", re, true, true)}
		} else {
			row.Decisions = []staff.Decision{decision(l, o.ID, "reactiver", re, false, true)}
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, staff.ListView(v))
}

func (s *Server) staffMembers(w http.ResponseWriter, r *http.Request) {
	s.membersPage(w, r, http.StatusOK, nil)
}

func (s *Server) staffDecide(w http.ResponseWriter, r *http.Request) {
	path := chi.URLParam(r, "decision")
	d, ok := decisionPaths[path]
	id, okID := idParam(r)
	if !ok || !okID {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	back := "/equipe/membres"
	if d == member.Approve || d == member.Reject {
		back = "/equipe/adhesions"
	}
	reason := r.PostFormValue("reason")
	err := s.members.Decide(r.Context(), actorFrom(r.Context()), id, d, reason)
	if errs, ok := fieldErrors(err); ok {
		re := &rowError{orgID: id, decision: path, reason: reason, err: errs["reason"]}
		if back == "/equipe/adhesions" {
			s.queuePage(w, r, http.StatusUnprocessableEntity, re)
		} else {
			s.membersPage(w, r, http.StatusUnprocessableEntity, re)
		}
		return
	}
	switch {
	case err == nil:
		s.flash(r, "staff.done."+path)
	case errors.Is(err, member.ErrInvalidState):
		s.flash(r, "staff.already_decided")
	default:
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// registerCheck adds to an application's row what the SIRENE register says
// beside what was declared, and the flags staff should see first.
func registerCheck(l *i18n.Localizer, o member.Organisation, c registers.Check, row *staff.Row) {
	if c.Absent {
		row.Flags = append(row.Flags, l.T("register.flag_absent"))
		return
	}
	e := c.Entry
	compare := func(differs bool, declared, register string) string {
		if !differs {
			return l.T("register.same", "Value", register)
		}
		return l.T("register.declared_vs", "Declared", declared, "Register", register)
	}
	name := e.Name
	if e.Withheld {
		name = l.T("register.name_withheld")
	}
	category := e.Category
	if category == "" {
		category = l.T("register.category_none")
	} else if e.CategoryYear > 0 {
		category += fmt.Sprintf(" (%d)", e.CategoryYear)
	}
	state := l.T("register.active")
	if c.Ceased {
		state = l.T("register.ceased")
	}
	row.RegisterTitle = l.T("register.heading")
	row.Register = []components.Fact{
		{Label: l.T("register.name"), Value: name},
		{Label: l.T("register.category"), Value: compare(c.SizeFlag, l.T("kind."+string(o.Kind)), category)},
		{Label: l.T("register.naf"), Value: compare(c.NAFDiffers, o.NAFCode, e.NAFCode)},
		{Label: l.T("register.departement"), Value: compare(c.DepDiffers, o.Departement, e.Departement)},
		{Label: l.T("register.state"), Value: state},
	}
	if c.SizeFlag {
		row.Flags = append(row.Flags, l.T("register.flag_size", "Declared", l.T("kind."+string(o.Kind)), "Category", e.Category))
	}
	if c.Ceased {
		row.Flags = append(row.Flags, l.T("register.flag_ceased"))
	}
}
