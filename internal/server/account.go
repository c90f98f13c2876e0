package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
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
	var err error
	switch {
	case a.IsStaff():
		v.Lead = l.T("space.lead_staff")
		v.Actions = []memberpages.Link{
			{Href: "/equipe/adhesions", Label: l.T("nav.queue")}, {Href: "/equipe/membres", Label: l.T("nav.members")},
			{Href: "/equipe/journal", Label: l.T("nav.audit")}, {Href: "/equipe/courriels", Label: l.T("nav.mailbox")},
			{Href: "/equipe/indicateurs", Label: l.T("nav.figures")}, {Href: "/observatoire", Label: l.T("nav.observatory")},
			{Href: "/equipe/declarations", Label: l.T("declarations.staff_title")}, {Href: "/equipe/barometre", Label: l.T("barometer.staff_title")},
		}
		v.Blocks, err = s.staffBlocks(r, l, a)
	case a.IsSME():
		v.Lead = l.T("space.lead_sme")
		v.Facts = append(v.Facts, components.Fact{Label: l.T("space.kind"), Value: l.T("kind." + string(a.Kind))})
		v.Actions = []memberpages.Link{{Href: "/demandes", Label: l.T("nav.requests")}, {Href: "/espace/offres", Label: l.T("nav.my_offers")},
			{Href: "/barometre", Label: l.T("nav.barometer")}}
		var figures []components.Fact
		if figures, err = s.smeFigureFacts(r, l, a); err == nil {
			v.Facts = append(v.Facts, figures...)
			v.Blocks, err = s.memberBlocks(r, l, a)
		}
	default:
		v.Lead = l.T("space.lead_buyer")
		v.Facts = append(v.Facts, components.Fact{Label: l.T("space.kind"), Value: l.T("kind." + string(a.Kind))})
		v.Actions = []memberpages.Link{{Href: "/espace/demandes/nouvelle", Label: l.T("requests.new")}, {Href: "/espace/demandes", Label: l.T("nav.my_requests")},
			{Href: "/espace/declarations", Label: l.T("nav.declarations")}}
		v.Blocks, err = s.memberBlocks(r, l, a)
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v.Actions = append(v.Actions, memberpages.Link{Href: "/compte", Label: l.T("nav.account")})
	s.render(w, r, http.StatusOK, memberpages.SpaceView(v))
}

// memberBlocks are what an SME or a buyer has to do now about requests.
func (s *Server) memberBlocks(r *http.Request, l *i18n.Localizer, a member.Actor) ([]components.Block, error) {
	h, err := s.purchases.Home(r.Context(), a)
	if err != nil {
		return nil, err
	}
	buyer := func(name string) string {
		if name == "" {
			return l.T("request.anonymous_buyer")
		}
		return name
	}
	var blocks []components.Block
	if a.IsSME() {
		fit := components.Block{Title: l.T("home.fitting"), Empty: l.T("home.fitting_empty"), TestID: "home-fitting"}
		for _, x := range h.Fitting {
			fit.Items = append(fit.Items, components.Task{Label: x.Title, URL: fmt.Sprintf("/demandes/%d", x.ID),
				Meta: buyer(x.BuyerName) + " — " + l.T("requests.deadline_on", "Date", l.Date(x.Deadline))})
		}
		wait := components.Block{Title: l.T("home.waiting"), Empty: l.T("home.waiting_empty"), TestID: "home-waiting"}
		for _, x := range h.Waiting {
			wait.Items = append(wait.Items, components.Task{Label: x.Title, URL: fmt.Sprintf("/demandes/%d", x.RequestID),
				Meta: buyer(x.OrgName) + " — " + l.T("match.state."+string(x.State))})
		}
		blocks = append(blocks, fit, wait)
	} else {
		tasks := components.Block{Title: l.T("home.tasks"), Empty: l.T("home.tasks_empty"), TestID: "home-tasks"}
		for _, x := range h.FollowUps {
			tasks.Items = append(tasks.Items, components.Task{Label: l.T("home.follow_up", "Title", x.Title), URL: fmt.Sprintf("/espace/demandes/%d", x.RequestID)})
		}
		for _, x := range h.Drafts {
			meta := l.T("home.draft")
			if x.OrgName != "" { // the reason staff sent it back
				meta = l.T("offers.sent_back", "Reason", x.OrgName)
			}
			tasks.Items = append(tasks.Items, components.Task{Label: x.Title, URL: fmt.Sprintf("/espace/demandes/%d/modifier", x.RequestID), Meta: meta})
		}
		open := components.Block{Title: l.T("home.open_requests"), Empty: l.T("home.open_requests_empty"), TestID: "home-requests"}
		for _, x := range h.Requests {
			open.Items = append(open.Items, components.Task{Label: x.Title, URL: fmt.Sprintf("/espace/demandes/%d", x.ID),
				Meta: l.T("requests.answers", "Count", x.Answers, "New", x.New)})
		}
		blocks = append(blocks, tasks, open)
	}
	unread := components.Block{Title: l.T("home.unread"), Empty: l.T("home.unread_empty"), TestID: "home-unread"}
	for _, x := range h.Unread {
		unread.Items = append(unread.Items, components.Task{Label: x.Title, URL: fmt.Sprintf("/demandes/%d/echanges/%d", x.RequestID, x.OrgID),
			Meta: l.T("home.unread_meta", "Count", x.Count, "With", x.OrgName)})
	}
	return append(blocks, unread), nil
}

// staffBlocks are the review queues with their ages and the reported
// conversations.
func (s *Server) staffBlocks(r *http.Request, l *i18n.Localizer, a member.Actor) ([]components.Block, error) {
	queues := components.Block{Title: l.T("home.queues"), Empty: l.T("home.queues_empty"), TestID: "home-queues"}
	apps, total, err := s.members.Applications(r.Context(), a, 1)
	if err != nil {
		return nil, err
	}
	age := func(t time.Time) string { return l.T("home.waiting_since", "Days", int(time.Since(t).Hours()/24)) }
	if total > 0 {
		queues.Items = append(queues.Items, components.Task{Label: l.T("home.queue_applications", "Count", total), URL: "/equipe/adhesions",
			Meta: age(apps[0].CreatedAt)})
	}
	waiting, err := s.moderation.Summary(r.Context(), a)
	if err != nil {
		return nil, err
	}
	for _, q := range waiting {
		if q.Count > 0 {
			queues.Items = append(queues.Items, components.Task{Label: l.T("home.queue_kind", "Kind", l.T("moderation.kind."+q.Kind), "Count", q.Count),
				URL: "/equipe/moderation", Meta: age(q.Oldest)})
		}
	}
	reported := components.Block{Title: l.T("home.reported"), Empty: l.T("home.reported_empty"), TestID: "home-reported"}
	list, err := s.purchases.Reported(r.Context(), a)
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		reported.Items = append(reported.Items, components.Task{Label: m.OrgName, URL: fmt.Sprintf("/demandes/%d/echanges/%d", m.RequestID, m.OrgID)})
	}
	return []components.Block{queues, reported}, nil
}

func inviteForm(l *i18n.Localizer, action, email string) components.Form {
	return components.Form{Action: action, Submit: l.T("account.invite_submit"), TestID: "invite-form",
		Fields: []components.Field{{Name: "email", Label: l.T("account.invite_email"), Type: "email", Value: email, Required: true}}}
}

// confirmForm is the form of an action that cannot be undone: the
// password again, and a box to tick.
func confirmForm(l *i18n.Localizer, action, submit, confirm, testID string) components.Form {
	return components.Form{Action: action, Submit: submit, Danger: true, TestID: testID,
		Fields: []components.Field{
			{Name: "password", Label: l.T("account.password_again"), Type: "password", Required: true, Autocomplete: "current-password"},
			{Name: "confirm", Label: confirm, Type: "checkbox", Required: true},
		}}
}

func deleteForm(l *i18n.Localizer) components.Form {
	return confirmForm(l, "/compte/supprimer", l.T("account.delete_submit"), l.T("account.delete_confirm"), "delete-form")
}

func closeForm(l *i18n.Localizer) components.Form {
	return confirmForm(l, "/compte/fermer", l.T("account.close_submit"), l.T("account.close_confirm"), "close-form")
}

// irreversible runs do (which checks the password again) once the box is
// ticked; on a missing tick or a wrong password it shows the form again
// through show, with the error by its field.
func (s *Server) irreversible(w http.ResponseWriter, r *http.Request, form func() components.Form, show func(f components.Form),
	do func(password string) error) (done bool) {
	l := i18n.FromContext(r.Context())
	errs := map[string]string{}
	if r.PostFormValue("confirm") != "1" {
		errs["confirm"] = "form.confirm_required"
	}
	if r.PostFormValue("password") == "" {
		errs["password"] = "form.required"
	}
	if len(errs) == 0 {
		err := do(r.PostFormValue("password"))
		switch {
		case err == nil:
			return true
		case errors.Is(err, member.ErrInvalidCredentials):
			errs["password"] = "account.password_wrong"
		case errors.Is(err, member.ErrLastOwner):
			errs["confirm"] = "account.last_owner"
		case errors.Is(err, member.ErrLastAdmin):
			errs["confirm"] = "account.last_admin"
		default:
			s.serverError(w, r, err)
			return false
		}
	}
	show(withErrors(l, form(), errs))
	return false
}

// accountForms are the account page's forms shown in error, if any.
type accountForms struct{ invite, del, close, password *components.Form }

// accountPage renders the account page, with the forms in error given.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, status int, in accountForms) {
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
		Delete: deleteForm(l),
	}
	for _, u := range users {
		v.People = append(v.People, memberpages.Person{Name: u.Name, Email: u.Email, Role: l.T("role." + string(u.Role))})
	}
	if a.IsOwner() {
		pending, err := s.pending(r, "/compte/invitations")
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Pending, v.PendingTitle = pending, l.T("account.pending_title")
		f := inviteForm(l, "/compte/invitations", "")
		v.Invite = &f
		c := closeForm(l)
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
	v.SecurityTitle, v.SecurityText = l.T("account.security_title"), l.T("account.security_text")
	pw := passwordForm(l)
	v.Password = &pw
	v.SignOutAll = components.Form{Action: "/compte/deconnexion-partout", Submit: l.T("account.signout_all"), TestID: "signout-all-form"}
	if in.invite != nil {
		v.Invite = in.invite
	}
	if in.del != nil {
		v.Delete = *in.del
	}
	if in.close != nil {
		v.Close = in.close
	}
	if in.password != nil {
		v.Password = in.password
	}
	s.render(w, r, status, memberpages.AccountView(v))
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.accountPage(w, r, http.StatusOK, accountForms{})
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
	a := actorFrom(r.Context())
	if !s.irreversible(w, r,
		func() components.Form { return deleteForm(l) },
		func(f components.Form) { s.accountPage(w, r, http.StatusUnprocessableEntity, accountForms{del: &f}) },
		func(password string) error { return s.members.DeleteAccount(r.Context(), a, password) }) {
		return
	}
	_ = s.sessions.Destroy(r.Context())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) accountInvite(w http.ResponseWriter, r *http.Request) {
	s.invite(w, r, "/compte/invitations", "/compte", func(status int, f components.Form) {
		s.accountPage(w, r, status, accountForms{invite: &f})
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
	a := actorFrom(r.Context())
	if !s.irreversible(w, r,
		func() components.Form { return closeForm(l) },
		func(f components.Form) { s.accountPage(w, r, http.StatusUnprocessableEntity, accountForms{close: &f}) },
		func(password string) error { return s.members.CloseOrganisation(r.Context(), a, password) }) {
		return
	}
	_ = s.sessions.Destroy(r.Context())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func passwordForm(l *i18n.Localizer) components.Form {
	return components.Form{Action: "/compte/mot-de-passe", Submit: l.T("account.password_submit"), TestID: "password-form",
		Fields: []components.Field{
			{Name: "current_password", Label: l.T("account.password_current"), Type: "password", Required: true, Autocomplete: "current-password"},
			{Name: "new_password", Label: l.T("account.password_new"), Type: "password", Required: true, Autocomplete: "new-password",
				Hint: l.T("form.password_hint")},
		}}
}

// accountPassword changes the password of the signed-in user: every other
// session ends, this one goes on.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	epoch, err := s.members.ChangePassword(r.Context(), a, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if errs, ok := fieldErrors(err); ok {
		f := withErrors(l, passwordForm(l), errs)
		s.accountPage(w, r, http.StatusUnprocessableEntity, accountForms{password: &f})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	a.SessionEpoch = epoch
	if err := s.startSession(r, a); err != nil {
		s.sessionError(w, r, err)
		return
	}
	s.flash(r, "account.password_changed")
	http.Redirect(w, r, "/compte", http.StatusSeeOther)
}

// accountSignOutAll ends every session of the user, this one included.
func (s *Server) accountSignOutAll(w http.ResponseWriter, r *http.Request) {
	if err := s.members.SignOutEverywhere(r.Context(), actorFrom(r.Context())); err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.sessionError(w, r, err)
		return
	}
	s.flash(r, "account.signed_out_all")
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

// pending lists the actor's organisation's invitations, each revoked by a
// POST to base/{id}/revoquer.
func (s *Server) pending(r *http.Request, base string) ([]components.Pending, error) {
	l := i18n.FromContext(r.Context())
	list, err := s.members.Invitations(r.Context(), actorFrom(r.Context()))
	if err != nil {
		return nil, err
	}
	var out []components.Pending
	for _, inv := range list {
		out = append(out, components.Pending{Email: inv.Email,
			Meta:   l.T("account.pending_meta", "By", inv.InvitedBy, "Date", l.Date(inv.ExpiresAt)),
			Action: fmt.Sprintf("%s/%d/revoquer", base, inv.ID), Label: l.T("account.revoke")})
	}
	return out, nil
}

// revokeInvitation takes back an invitation, then goes back to back.
func (s *Server) revokeInvitation(back string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := idParam(r)
		if !ok {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
		switch err := s.members.RevokeInvitation(r.Context(), actorFrom(r.Context()), id); {
		case err == nil:
			s.flash(r, "account.revoked")
		case errors.Is(err, member.ErrNotFound):
			// Accepted, expired or revoked meanwhile: say so on the page.
			s.flash(r, "account.revoke_gone")
		default:
			s.failure(w, r, err)
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}
