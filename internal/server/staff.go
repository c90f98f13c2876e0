package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/audit"
	"passerelle/internal/i18n"
	"passerelle/internal/member"
	"passerelle/internal/present"
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
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, staff.ListView(v))
}

func (s *Server) staffQueue(w http.ResponseWriter, r *http.Request) {
	s.queuePage(w, r, http.StatusOK, nil)
}

func pageParam(r *http.Request) int {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	return p
}

// pager builds the pagination of a list of size-long pages whose other
// query parameters stay.
func pager(l *i18n.Localizer, r *http.Request, page, total, size int) components.Pager {
	pages := (total + size - 1) / size
	p := components.Pager{Page: page, Pages: pages, Total: total, Label: l.T("list.page", "Page", page, "Pages", pages)}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.PrevURL = link(page - 1)
	}
	if page < pages {
		p.NextURL = link(page + 1)
	}
	return p
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
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if !ok || err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	back := "/equipe/membres"
	if d == member.Approve || d == member.Reject {
		back = "/equipe/adhesions"
	}
	reason := r.PostFormValue("reason")
	err = s.members.Decide(r.Context(), actorFrom(r.Context()), id, d, reason)
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
	case errors.Is(err, member.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
		return
	case errors.Is(err, member.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
		return
	default:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

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
		s.serverError(w, r, err)
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

func (s *Server) staffMailbox(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	mails, total, err := s.members.Mailbox(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := staff.Table{Page: s.page(r, "mailbox.title"), Title: l.T("mailbox.title"), Lead: l.T("mailbox.lead"),
		Total: l.T("list.total", "Count", total), Empty: l.T("mailbox.empty"), Pager: pager(l, r, page, total, member.PageSize),
		Headers: []string{l.T("mailbox.when"), l.T("mailbox.to"), l.T("mailbox.subject"), l.T("mailbox.body"), l.T("mailbox.state")}}
	for _, m := range mails {
		state := l.T("mailbox.pending", "Attempts", m.Attempts)
		if m.SentAt != nil {
			state = l.T("mailbox.sent")
		} else if m.LastError != "" {
			state += " — " + m.LastError
		}
		body := m.Body
		if m.Hidden {
			body = l.T("mailbox.hidden")
		}
		v.Rows = append(v.Rows, []string{l.Date(m.CreatedAt) + " " + m.CreatedAt.Format("15:04"), m.To, m.Subject, body, state})
	}
	s.render(w, r, http.StatusOK, staff.TableView(v))
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, status int, invite components.Form) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	users, err := s.members.Users(r.Context(), a, a.OrgID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := staff.Table{Page: s.page(r, "admin.title"), Title: l.T("admin.title"), Lead: l.T("admin.lead"),
		Total: l.T("list.total", "Count", len(users)), Empty: l.T("admin.empty"),
		Headers: []string{l.T("field.name"), l.T("field.email"), l.T("space.role")}, Extra: &invite}
	for _, u := range users {
		v.Rows = append(v.Rows, []string{u.Name, u.Email, l.T("role." + string(u.Role))})
	}
	s.render(w, r, status, staff.TableView(v))
}

func (s *Server) adminStaff(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	s.adminPage(w, r, http.StatusOK, inviteForm(l, "/admin/equipe/invitations", ""))
}

func (s *Server) adminInvite(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	email := r.PostFormValue("email")
	err := s.members.Invite(r.Context(), actorFrom(r.Context()), email)
	errs, ok := fieldErrors(err)
	if errors.Is(err, member.ErrEmailTaken) {
		errs, ok = map[string]string{"email": "member.email_taken"}, true
	}
	if ok {
		s.adminPage(w, r, http.StatusUnprocessableEntity, withErrors(l, inviteForm(l, "/admin/equipe/invitations", email), errs))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(r, "account.invite_sent")
	http.Redirect(w, r, "/admin/equipe?"+url.Values{}.Encode(), http.StatusSeeOther)
}
