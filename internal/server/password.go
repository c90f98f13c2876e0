package server

import (
	"errors"
	"net/http"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	memberpages "passerelle/web/pages/member"
)

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request, status int, email string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	f := components.Form{Action: "/mot-de-passe/oubli", Submit: l.T("forgot.submit"), TestID: "forgot-form",
		Fields: []components.Field{{Name: "email", Label: l.T("field.email"), Type: "email", Value: email, Required: true, Autocomplete: "email"}}}
	s.render(w, r, status, memberpages.FormPageView(memberpages.FormPage{
		Page: s.page(r, "forgot.title"), Title: l.T("forgot.title"), Intro: l.T("forgot.intro"), Form: withErrors(l, f, errs),
	}))
}

func (s *Server) forgotShow(w http.ResponseWriter, r *http.Request) {
	s.forgotPage(w, r, http.StatusOK, "", nil)
}

func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	email := r.PostFormValue("email")
	if err := s.members.RequestPasswordReset(r.Context(), email); err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.forgotPage(w, r, http.StatusUnprocessableEntity, email, errs)
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, memberpages.MessageView(memberpages.Message{
		Page: s.page(r, "forgot.sent_title"), Title: l.T("forgot.sent_title"), Lines: []string{l.T("forgot.sent_text")},
	}))
}

// tokenLinkInvalid tells the user a link cannot be used any more.
func (s *Server) tokenLinkInvalid(w http.ResponseWriter, r *http.Request, retry memberpages.Link) {
	l := i18n.FromContext(r.Context())
	s.render(w, r, http.StatusGone, memberpages.MessageView(memberpages.Message{
		Page: s.page(r, "token.invalid_title"), Title: l.T("token.invalid_title"), Lines: []string{l.T("token.invalid_text")},
		Action: retry,
	}))
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, status int, token string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	f := components.Form{Action: "/mot-de-passe/nouveau", Submit: l.T("reset.submit"), TestID: "reset-form",
		Fields: []components.Field{
			{Name: "jeton", Type: "hidden", Value: token},
			{Name: "password", Label: l.T("field.new_password"), Type: "password", Required: true, Autocomplete: "new-password", Hint: l.T("form.password_hint")},
		}}
	s.render(w, r, status, memberpages.FormPageView(memberpages.FormPage{
		Page: s.page(r, "reset.title"), Title: l.T("reset.title"), Form: withErrors(l, f, errs),
	}))
}

func (s *Server) resetShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	token := r.URL.Query().Get("jeton")
	if err := s.members.CheckToken(r.Context(), "password_reset", token); err != nil {
		if errors.Is(err, member.ErrTokenInvalid) {
			s.tokenLinkInvalid(w, r, memberpages.Link{Href: "/mot-de-passe/oubli", Label: l.T("forgot.title")})
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.resetPage(w, r, http.StatusOK, token, nil)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	token := r.PostFormValue("jeton")
	err := s.members.ResetPassword(r.Context(), token, r.PostFormValue("password"))
	if errs, ok := fieldErrors(err); ok {
		s.resetPage(w, r, http.StatusUnprocessableEntity, token, errs)
		return
	}
	if errors.Is(err, member.ErrTokenInvalid) {
		s.tokenLinkInvalid(w, r, memberpages.Link{Href: "/mot-de-passe/oubli", Label: l.T("forgot.title")})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(r, "reset.done")
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

func (s *Server) invitationPage(w http.ResponseWriter, r *http.Request, status int, token, name string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	f := components.Form{Action: "/invitation", Submit: l.T("invitation.submit"), TestID: "invitation-form",
		Fields: []components.Field{
			{Name: "jeton", Type: "hidden", Value: token},
			{Name: "name", Label: l.T("field.name"), Type: "text", Value: name, Required: true, Autocomplete: "name", MaxLength: 120},
			{Name: "password", Label: l.T("field.password"), Type: "password", Required: true, Autocomplete: "new-password", Hint: l.T("form.password_hint")},
		}}
	s.render(w, r, status, memberpages.FormPageView(memberpages.FormPage{
		Page: s.page(r, "invitation.title"), Title: l.T("invitation.title"), Intro: l.T("invitation.intro"), Form: withErrors(l, f, errs),
	}))
}

func (s *Server) invitationShow(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("jeton")
	if err := s.members.CheckToken(r.Context(), "invitation", token); err != nil {
		if errors.Is(err, member.ErrTokenInvalid) {
			s.tokenLinkInvalid(w, r, memberpages.Link{})
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.invitationPage(w, r, http.StatusOK, token, "", nil)
}

func (s *Server) invitationAccept(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	token, name := r.PostFormValue("jeton"), r.PostFormValue("name")
	a, err := s.members.AcceptInvitation(r.Context(), token, name, r.PostFormValue("password"), l.Lang())
	if errs, ok := fieldErrors(err); ok {
		s.invitationPage(w, r, http.StatusUnprocessableEntity, token, name, errs)
		return
	}
	switch {
	case errors.Is(err, member.ErrTokenInvalid):
		s.tokenLinkInvalid(w, r, memberpages.Link{})
		return
	case errors.Is(err, member.ErrEmailTaken):
		s.invitationPage(w, r, http.StatusUnprocessableEntity, token, name, map[string]string{"name": "member.email_taken"})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if err := s.startSession(r, a); err != nil {
		s.sessionError(w, r, err)
		return
	}
	s.flash(r, "invitation.done")
	http.Redirect(w, r, "/espace", http.StatusSeeOther)
}
