package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/validate"
	"passerelle/web/components"
	memberpages "passerelle/web/pages/member"
)

type actorKey struct{}

// actorFrom returns who makes the request (the zero Actor for a visitor).
func actorFrom(ctx context.Context) member.Actor {
	a, _ := ctx.Value(actorKey{}).(member.Actor)
	return a
}

const (
	sessionUserID = "user_id"
	// sessionEpoch is the user's session epoch at sign-in: a session behind
	// the user's current epoch has been ended (password reset or change,
	// sign out everywhere).
	sessionEpoch = "epoch"
)

// loadActor turns the session into an Actor. A session whose user was
// deleted, or whose organisation was suspended since, is ended.
func (s *Server) loadActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		a, err := s.members.ActorByID(r.Context(), id)
		if err == nil && a.SessionEpoch != s.sessions.GetInt(r.Context(), sessionEpoch) {
			err = member.ErrNotFound // this session was ended elsewhere
		}
		switch {
		case err == nil:
			markPrivate(r)
			ctx := context.WithValue(r.Context(), actorKey{}, a)
			if a.Locale != "" && !hasLangCookie(r) {
				ctx = i18n.WithLocalizer(ctx, s.catalog.Localizer(a.Locale))
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		case errors.Is(err, member.ErrNotFound), errors.Is(err, member.ErrSuspended),
			errors.Is(err, member.ErrRejected), errors.Is(err, member.ErrPending), errors.Is(err, member.ErrInvalidCredentials):
			_ = s.sessions.Destroy(r.Context())
			next.ServeHTTP(w, r)
		default:
			s.serverError(w, r, err)
		}
	})
}

func hasLangCookie(r *http.Request) bool {
	c, err := r.Cookie(langCookie)
	return err == nil && i18n.Supported(c.Value)
}

// requireSignedIn sends visitors to the sign-in page, then back.
func (s *Server) requireSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !actorFrom(r.Context()).SignedIn() {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/connexion?suite="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// require answers 403 unless the actor passes check. It is the first line
// of defence; the services check again.
func (s *Server) require(check func(member.Actor) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return s.requireSignedIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !check(actorFrom(r.Context())) {
				s.renderError(w, r, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// rateLimit bounds attempts per client address and minute on sign-in,
// sign-up, password reset and invitation. The address is the connection's,
// or, behind the proxies named in TRUSTED_PROXIES, the one they forwarded
// (clientIP): never a header a client could set itself.
func (s *Server) rateLimit() func(http.Handler) http.Handler {
	return httprate.Limit(s.cfg.RateLimit, time.Minute,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) { return "ip:" + clientAddr(r), nil }),
		httprate.WithLimitHandler(s.tooMany))
}

// accountRateLimit bounds attempts per account (the e-mail typed) and
// minute on sign-in and reset requests, so that guesses spread over many
// addresses still slow down.
func (s *Server) accountRateLimit() func(http.Handler) http.Handler {
	return httprate.Limit(s.cfg.RateLimit, time.Minute,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			if email := validate.NormEmail(r.PostFormValue("email")); email != "" {
				return "account:" + email, nil
			}
			return "ip:" + clientAddr(r), nil
		}),
		httprate.WithLimitHandler(s.tooMany))
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "60")
	s.renderError(w, r, http.StatusTooManyRequests)
}

// clientIP resolves the client's address once per request: the TCP peer,
// or behind trusted proxies the first untrusted address of X-Forwarded-For
// (chi's ClientIPFromXFF, fail-closed).
func clientIP(trusted []string) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	return middleware.ClientIPFromXFF(trusted...)
}

// clientAddr is the request's client address, "unknown" when it could not
// be resolved safely (one bucket for all of those).
func clientAddr(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return ip
	}
	return "unknown"
}

// signInForm builds the sign-in form.
func signInForm(l *i18n.Localizer, email, next string, errMsg string) components.Form {
	f := components.Form{
		Action: "/connexion", Submit: l.T("signin.submit"), Summary: l.T("form.summary"), TestID: "signin-form",
		Fields: []components.Field{
			{Name: "suite", Type: "hidden", Value: next},
			{Name: "email", Label: l.T("field.email"), Type: "email", Value: email, Required: true, Autocomplete: "username"},
			{Name: "password", Label: l.T("field.password"), Type: "password", Required: true, Autocomplete: "current-password"},
		},
	}
	if errMsg != "" {
		f.Fields[2].Error = errMsg
		f.Errors = []components.Field{f.Fields[2]}
	}
	return f
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, status int, email, errMsg string) {
	l := i18n.FromContext(r.Context())
	next := r.FormValue("suite")
	s.render(w, r, status, memberpages.FormPageView(memberpages.FormPage{
		Page:  s.page(r, "signin.title"),
		Title: l.T("signin.title"),
		Form:  signInForm(l, email, next, errMsg),
		Links: []memberpages.Link{
			{Href: "/mot-de-passe/oubli", Label: l.T("signin.forgot")},
			{Href: "/adhesion", Label: l.T("signin.apply")},
		},
	}))
}

func (s *Server) signInShow(w http.ResponseWriter, r *http.Request) {
	if actorFrom(r.Context()).SignedIn() {
		http.Redirect(w, r, "/espace", http.StatusSeeOther)
		return
	}
	s.signInPage(w, r, http.StatusOK, "", "")
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	a, err := s.members.Authenticate(r.Context(), email, password)
	var rejected *member.RejectedError
	switch {
	case err == nil:
	case errors.As(err, &rejected):
		s.signInPage(w, r, http.StatusUnprocessableEntity, email, l.T("signin.rejected", "Reason", rejected.Reason))
		return
	case errors.Is(err, member.ErrPending):
		s.signInPage(w, r, http.StatusUnprocessableEntity, email, l.T("signin.pending"))
		return
	case errors.Is(err, member.ErrSuspended):
		s.signInPage(w, r, http.StatusUnprocessableEntity, email, l.T("signin.suspended"))
		return
	case errors.Is(err, member.ErrInvalidCredentials):
		s.signInPage(w, r, http.StatusUnprocessableEntity, email, l.T("signin.invalid"))
		return
	default:
		s.serverError(w, r, err)
		return
	}
	if err := s.startSession(r, a); err != nil {
		s.sessionError(w, r, err)
		return
	}
	http.Redirect(w, r, s.afterSignIn(r.PostFormValue("suite")), http.StatusSeeOther)
}

func (s *Server) afterSignIn(next string) string {
	if p := localPath(next); p != "/" {
		return p
	}
	return "/espace"
}

// startSession renews the session id (no fixation) and records the user.
// The session is saved when the response starts; if the store fails then,
// the session manager's ErrorFunc (sessionError) answers instead of the
// redirect.
func (s *Server) startSession(r *http.Request, a member.Actor) error {
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	s.sessions.Put(r.Context(), sessionUserID, a.UserID)
	s.sessions.Put(r.Context(), sessionEpoch, a.SessionEpoch)
	return nil
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// flash stores a one-time confirmation for the next page.
func (s *Server) flash(r *http.Request, msgID string) {
	s.sessions.Put(r.Context(), "flash", msgID)
}
