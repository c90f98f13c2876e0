package server

import (
	"errors"
	"net/http"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/notify"
	"passerelle/web/components"
	memberpages "passerelle/web/pages/member"
)

// notifyForm lets the user choose which optional mails they get; security
// and account mails are not listed: they cannot be turned off.
func (s *Server) notifyForm(r *http.Request) (*components.Form, error) {
	l := i18n.FromContext(r.Context())
	prefs, err := s.notify.Preferences(r.Context(), actorFrom(r.Context()).UserID)
	if err != nil || len(prefs) == 0 {
		return nil, err
	}
	f := components.Field{Name: "categories", Label: l.T("notify.legend"), Type: "checkboxes", Hint: l.T("notify.essential")}
	for _, c := range notify.Optional() {
		f.Options = append(f.Options, components.Option{Value: c.Name, Label: l.T("notify.category." + c.Name)})
		if prefs[c.Name] {
			f.Values = append(f.Values, c.Name)
		}
	}
	return &components.Form{Action: "/compte/notifications", Submit: l.T("notify.submit"), TestID: "notify-form",
		Fields: []components.Field{f}}, nil
}

// accountNotifications records the user's e-mail preferences.
func (s *Server) accountNotifications(w http.ResponseWriter, r *http.Request) {
	err := s.notify.SetPreferences(r.Context(), actorFrom(r.Context()).UserID, r.PostForm["categories"])
	switch {
	case errors.Is(err, notify.ErrUnknown):
		s.renderError(w, r, http.StatusBadRequest)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(r, "notify.saved")
	http.Redirect(w, r, "/compte#notifications", http.StatusSeeOther)
}

// unsubscribeShow asks to confirm: mail scanners follow links, so a GET
// changes nothing.
func (s *Server) unsubscribeShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	q := r.URL.Query()
	token, category := q.Get("jeton"), q.Get("categorie")
	if !notify.IsOptional(category) {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	f := components.Form{Action: "/desabonnement", Submit: l.T("unsubscribe.submit"), TestID: "unsubscribe-form",
		Fields: []components.Field{{Name: "jeton", Type: "hidden", Value: token}, {Name: "categorie", Type: "hidden", Value: category}}}
	s.render(w, r, http.StatusOK, memberpages.FormPageView(memberpages.FormPage{
		Page: s.page(r, "unsubscribe.title"), Title: l.T("unsubscribe.title"),
		Intro: l.T("unsubscribe.intro", "Category", l.T("notify.category."+category)), Form: f,
	}))
}

// unsubscribe turns a category of mails off: from the confirmation page,
// or in one click from the mail client (RFC 8058: a POST whose body is
// List-Unsubscribe=One-Click, to the URL of the List-Unsubscribe header).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	token, category := r.FormValue("jeton"), r.FormValue("categorie")
	err := s.notify.Unsubscribe(r.Context(), token, category)
	switch {
	case errors.Is(err, notify.ErrUnknown):
		s.renderError(w, r, http.StatusNotFound)
		return
	case errors.Is(err, notify.ErrTokenInvalid):
		// The account is gone, or the link was mistyped: say that the link
		// no longer works, and where mails are chosen.
		s.tokenLinkInvalid(w, r, memberpages.Link{Href: "/compte#notifications", Label: l.T("unsubscribe.preferences")})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, memberpages.MessageView(memberpages.Message{
		Page: s.page(r, "unsubscribe.title"), Title: l.T("unsubscribe.done_title"),
		Lines:  []string{l.T("unsubscribe.done", "Category", l.T("notify.category."+category))},
		Action: memberpages.Link{Href: "/compte#notifications", Label: l.T("unsubscribe.preferences")},
	}))
}
