package server

import (
	"net/http"

	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	"passerelle/web/pages/staff"
)

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, status int, invite components.Form) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	users, err := s.members.Users(r.Context(), a, a.OrgID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := staff.Table{Page: s.page(r, "admin.title"), Title: l.T("admin.title"), Lead: l.T("admin.lead"),
		Total: l.T("list.total", "Count", len(users)), Empty: l.T("admin.empty"), Pager: components.Pager{Page: 1, Pages: 1, Total: len(users)},
		Headers: []string{l.T("field.name"), l.T("field.email"), l.T("space.role")}, Extra: &invite}
	if v.Pending, err = s.pending(r, "/admin/equipe/invitations"); err != nil {
		s.serverError(w, r, err)
		return
	}
	v.PendingTitle = l.T("account.pending_title")
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
	s.invite(w, r, "/admin/equipe/invitations", "/admin/equipe", func(status int, f components.Form) { s.adminPage(w, r, status, f) })
}
