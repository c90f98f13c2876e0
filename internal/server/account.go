package server

import (
	"errors"
	"net/http"

	"passerelle/internal/i18n"
	"passerelle/internal/member"
	"passerelle/web/components"
	memberpages "passerelle/web/pages/member"
)

// space is the signed-in user's home: who they are and where to go.
func (s *Server) space(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	v := memberpages.Space{
		Page:  s.page(r, "space.title"),
		Title: l.T("space.hello", "Name", a.Name),
		Facts: []components.Fact{
			{Label: l.T("space.organisation"), Value: a.OrgName},
			{Label: l.T("space.role"), Value: l.T("role." + string(a.Role))},
		},
	}
	switch {
	case a.IsStaff():
		v.Lead = l.T("space.lead_staff")
		v.Actions = []memberpages.Link{
			{Href: "/equipe/adhesions", Label: l.T("nav.queue")}, {Href: "/equipe/membres", Label: l.T("nav.members")},
			{Href: "/equipe/journal", Label: l.T("nav.audit")}, {Href: "/equipe/courriels", Label: l.T("nav.mailbox")},
		}
	case a.IsSME():
		v.Lead = l.T("space.lead_sme")
		v.Facts = append(v.Facts, components.Fact{Label: l.T("space.kind"), Value: l.T("kind." + string(a.Kind))})
	default:
		v.Lead = l.T("space.lead_buyer")
		v.Facts = append(v.Facts, components.Fact{Label: l.T("space.kind"), Value: l.T("kind." + string(a.Kind))})
	}
	v.Actions = append(v.Actions, memberpages.Link{Href: "/compte", Label: l.T("nav.account")})
	s.render(w, r, http.StatusOK, memberpages.SpaceView(v))
}

func inviteForm(l *i18n.Localizer, action, email string) components.Form {
	return components.Form{Action: action, Submit: l.T("account.invite_submit"), TestID: "invite-form",
		Fields: []components.Field{{Name: "email", Label: l.T("account.invite_email"), Type: "email", Value: email, Required: true}}}
}

func confirmForm(l *i18n.Localizer, action, submit, confirm, testID string) components.Form {
	return components.Form{Action: action, Submit: submit, Danger: true, TestID: testID,
		Fields: []components.Field{{Name: "confirm", Label: confirm, Type: "checkbox", Required: true}}}
}

// accountPage renders the account page; forms in error are passed in.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, status int, invite, del, closeF *components.Form) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	users, err := s.members.Users(r.Context(), a, a.OrgID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := memberpages.Account{
		Page: s.page(r, "account.title"), Title: l.T("account.title"),
		Facts: []components.Fact{
			{Label: l.T("field.name"), Value: a.Name}, {Label: l.T("field.email"), Value: a.Email},
			{Label: l.T("space.organisation"), Value: a.OrgName}, {Label: l.T("space.role"), Value: l.T("role." + string(a.Role))},
		},
		PeopleTitle: l.T("account.people"),
		ExportTitle: l.T("account.export_title"), ExportText: l.T("account.export_text"),
		ExportLink:  memberpages.Link{Href: "/compte/donnees.json", Label: l.T("account.export_link")},
		DeleteTitle: l.T("account.delete_title"), DeleteText: l.T("account.delete_text"),
		Delete: confirmForm(l, "/compte/supprimer", l.T("account.delete_submit"), l.T("account.delete_confirm"), "delete-form"),
	}
	for _, u := range users {
		v.People = append(v.People, memberpages.Person{Name: u.Name, Email: u.Email, Role: l.T("role." + string(u.Role))})
	}
	if a.IsOwner() {
		f := inviteForm(l, "/compte/invitations", "")
		v.Invite = &f
		c := confirmForm(l, "/compte/fermer", l.T("account.close_submit"), l.T("account.close_confirm"), "close-form")
		v.Close = &c
		v.CloseTitle, v.CloseText = l.T("account.close_title"), l.T("account.close_text")
	}
	if f, err := s.notifyForm(r); err != nil {
		s.serverError(w, r, err)
		return
	} else if f != nil {
		v.Notify = f
		v.NotifyTitle, v.NotifyText = l.T("notify.title"), l.T("notify.text")
	}
	if invite != nil {
		v.Invite = invite
	}
	if del != nil {
		v.Delete = *del
	}
	if closeF != nil {
		v.Close = closeF
	}
	s.render(w, r, status, memberpages.AccountView(v))
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.accountPage(w, r, http.StatusOK, nil, nil, nil)
}

func (s *Server) accountExport(w http.ResponseWriter, r *http.Request) {
	b, err := s.members.Export(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="passerelle-mes-donnees.json"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (s *Server) accountDelete(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	if r.PostFormValue("confirm") != "1" {
		f := withErrors(l, confirmForm(l, "/compte/supprimer", l.T("account.delete_submit"), l.T("account.delete_confirm"), "delete-form"),
			map[string]string{"confirm": "form.confirm_required"})
		s.accountPage(w, r, http.StatusUnprocessableEntity, nil, &f, nil)
		return
	}
	err := s.members.DeleteAccount(r.Context(), actorFrom(r.Context()))
	if errors.Is(err, member.ErrLastOwner) {
		f := withErrors(l, confirmForm(l, "/compte/supprimer", l.T("account.delete_submit"), l.T("account.delete_confirm"), "delete-form"),
			map[string]string{"confirm": "account.last_owner"})
		s.accountPage(w, r, http.StatusUnprocessableEntity, nil, &f, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	_ = s.sessions.Destroy(r.Context())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) accountInvite(w http.ResponseWriter, r *http.Request) {
	s.invite(w, r, "/compte/invitations", "/compte", func(status int, f components.Form) {
		s.accountPage(w, r, status, &f, nil, nil)
	})
}

// invite sends the invitation posted to action (by an owner or an admin),
// then goes back; on bad input, show re-renders the page with the form in
// error.
func (s *Server) invite(w http.ResponseWriter, r *http.Request, action, back string, show func(status int, f components.Form)) {
	l := i18n.FromContext(r.Context())
	email := r.PostFormValue("email")
	err := s.members.Invite(r.Context(), actorFrom(r.Context()), email)
	errs, ok := fieldErrors(err)
	if errors.Is(err, member.ErrEmailTaken) {
		errs, ok = map[string]string{"email": "member.email_taken"}, true
	}
	if ok {
		show(http.StatusUnprocessableEntity, withErrors(l, inviteForm(l, action, email), errs))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(r, "account.invite_sent")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) accountClose(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	if r.PostFormValue("confirm") != "1" {
		f := withErrors(l, confirmForm(l, "/compte/fermer", l.T("account.close_submit"), l.T("account.close_confirm"), "close-form"),
			map[string]string{"confirm": "form.confirm_required"})
		s.accountPage(w, r, http.StatusUnprocessableEntity, nil, nil, &f)
		return
	}
	if err := s.members.CloseOrganisation(r.Context(), actorFrom(r.Context())); err != nil {
		s.serverError(w, r, err)
		return
	}
	_ = s.sessions.Destroy(r.Context())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
