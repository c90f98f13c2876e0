package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgconn"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/plan"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/present"
	"passerelle/internal/profile"
	"passerelle/internal/purchase"
	"passerelle/internal/registers"
	"passerelle/web/layouts"
	errpages "passerelle/web/pages/errors"
)

// render writes a templ component with status. It renders into a buffer
// first, so a failing view becomes a clean 500 page, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	serverTiming(w, r)
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// labels names reference data (CPV codes, places, organisations) for l's reader.
func (s *Server) labels(l *i18n.Localizer) present.Labels { return present.New(s.tax, l) }

// page builds the frame of a page titled by the message titleKey.
func (s *Server) page(r *http.Request, titleKey string) layouts.Page {
	l := i18n.FromContext(r.Context())
	p := layouts.Page{Path: r.URL.RequestURI()}
	if titleKey != "" {
		p.Title = l.T(titleKey)
	}
	a := actorFrom(r.Context())
	item := func(href, key string) layouts.NavItem {
		return layouts.NavItem{Href: href, Label: l.T(key), Current: r.URL.Path == href}
	}
	// more puts items under "More" on a wide screen: each role's line
	// holds what it comes for every day, and fits 1280 px on one line.
	more := func(items ...layouts.NavItem) []layouts.NavItem {
		for i := range items {
			items[i].More = true
		}
		return items
	}
	switch {
	case !a.SignedIn():
		p.Nav = []layouts.NavItem{item("/", "nav.home"), item("/offres", "nav.offers"), item("/acheteurs-publics", "nav.public_buyers"), item("/adhesion", "nav.apply"), item("/connexion", "nav.signin")}
	case a.IsStaff():
		p.Nav = []layouts.NavItem{item("/espace", "nav.space"), item("/equipe/adhesions", "nav.queue"), item("/equipe/moderation", "nav.review"),
			item("/equipe/membres", "nav.members"), item("/equipe/indicateurs", "nav.figures")}
		p.Nav = append(p.Nav, more(item("/observatoire", "nav.observatory"), item("/plans", "nav.plans"), item("/offres", "nav.offers"), item("/annuaire", "nav.directory"),
			item("/equipe/journal", "nav.audit"), item("/equipe/courriels", "nav.mailbox"), item("/equipe/registres", "nav.registers"))...)
		if a.IsAdmin() {
			p.Nav = append(p.Nav, more(item("/admin/equipe", "nav.staff"))...)
		}
		p.Nav = append(p.Nav, more(item("/compte", "nav.account"))...)
	case a.IsSME():
		p.Nav = []layouts.NavItem{item("/espace", "nav.space"), item("/demandes/pour-vous", "nav.for_you"), item("/demandes", "nav.requests"),
			item("/espace/offres", "nav.my_offers"), item("/espace/profil", "nav.profile")}
		p.Nav = append(p.Nav, more(item("/offres", "nav.offers"), item("/annuaire", "nav.directory"), item("/barometre", "nav.barometer"),
			item("/observatoire", "nav.observatory"), item("/plans", "nav.plans"), item("/compte", "nav.account"))...)
	default:
		p.Nav = []layouts.NavItem{item("/espace", "nav.space"), item("/espace/demandes", "nav.my_requests"), item("/annuaire", "nav.directory"),
			item("/offres", "nav.offers"), item("/espace/declarations", "nav.declarations")}
		p.Nav = append(p.Nav, more(item("/espace/plan", "nav.plan"), item("/observatoire", "nav.observatory"), item("/compte", "nav.account"))...)
	}
	p.UserName = a.Name
	if id := s.popFlash(r.Context()); id != "" {
		p.Flash = l.T(id)
	}
	return p
}

// popFlash returns and forgets the pending confirmation. Pages rendered
// outside the session middleware (a panic caught early) have none.
func (s *Server) popFlash(ctx context.Context) (id string) {
	defer func() {
		if recover() != nil {
			id = ""
		}
	}()
	if s.sessions == nil {
		return ""
	}
	return s.sessions.PopString(ctx, "flash")
}

// renderError shows the friendly page for an HTTP error status.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int) {
	s.renderErrorAs(w, r, status, "error."+strconv.Itoa(status))
}

// renderErrorAs shows the error page with status and the message
// key+".title" / key+".text".
func (s *Server) renderErrorAs(w http.ResponseWriter, r *http.Request, status int, key string) {
	l := i18n.FromContext(r.Context())
	p := s.page(r, key+".title")
	v := errpages.View{
		Page:      p,
		Status:    status,
		Heading:   l.T(key + ".title"),
		Message:   l.T(key + ".text"),
		RequestID: middleware.GetReqID(r.Context()),
	}
	var buf bytes.Buffer
	if err := errpages.Page(v).Render(r.Context(), &buf); err != nil {
		s.log.Error("render error page", "err", err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// sessionError is what a request gets when its session cannot be loaded or
// saved (the session store is down): a 503 page that says so, instead of a
// redirect to a page where the user would find themselves signed out. It is
// also the session manager's ErrorFunc.
func (s *Server) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	// A handler that shows this page starts its response, and the session
	// manager then fails to save the session again: the page is shown once.
	if shown, ok := r.Context().Value(sessionErrorKey{}).(*bool); ok {
		if *shown {
			return
		}
		*shown = true
	}
	s.logError(r, "session store error", err)
	// When the store fails as the response starts, the handler has already
	// set its redirect: that redirect must not be followed.
	w.Header().Del("Location")
	w.Header().Set("Retry-After", "30")
	s.renderErrorAs(w, r, http.StatusServiceUnavailable, "error.session")
}

// databaseDown reports an error of reaching PostgreSQL (refused or lost
// connection, server shutting down or starting), as opposed to a query
// that failed.
func databaseDown(err error) bool {
	var connect *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &connect), errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pgErr):
		// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
		return pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || strings.HasPrefix(pgErr.Code, "08")
	}
	return pgconn.SafeToRetry(err)
}

// sessionErrorKey marks, per request, that the session error page is shown.
type sessionErrorKey struct{}

// serverError logs err once, with the request, and shows the 500 page;
// a server at capacity (every password-hashing slot taken) answers 503
// with Retry-After instead.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, member.ErrBusy) {
		s.log.Warn("at capacity: password hashing", "request_id", middleware.GetReqID(r.Context()), "path", r.URL.Path)
		w.Header().Set("Retry-After", "5")
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	if databaseDown(err) {
		// Not our bug but an outage: say "come back in a moment", and
		// the server recovers by itself when the database returns.
		s.log.Warn("database unavailable", "request_id", middleware.GetReqID(r.Context()), "path", r.URL.Path, "err", err.Error())
		w.Header().Set("Retry-After", "10")
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	s.logError(r, "server error", err)
	if r.Context().Err() == context.Canceled {
		return // the client left; nobody reads the page
	}
	s.renderError(w, r, http.StatusInternalServerError)
}

// failure answers a service's named error the same way for every domain:
// what does not exist (or is not the actor's to see) 404, a forbidden
// action 403, a change the current state refuses 409; anything else is
// serverError (which knows outages and a full hashing pool).
func (s *Server) failure(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, member.ErrNotFound), errors.Is(err, offer.ErrNotFound), errors.Is(err, profile.ErrNotFound),
		errors.Is(err, moderation.ErrNotFound), errors.Is(err, moderation.ErrUnknownKind), errors.Is(err, purchase.ErrNotFound),
		errors.Is(err, indicator.ErrNotFound), errors.Is(err, registers.ErrUnknownBuyer), errors.Is(err, plan.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
	case errors.Is(err, member.ErrForbidden), errors.Is(err, offer.ErrForbidden), errors.Is(err, profile.ErrForbidden),
		errors.Is(err, moderation.ErrForbidden), errors.Is(err, audit.ErrForbidden), errors.Is(err, notify.ErrForbidden),
		errors.Is(err, purchase.ErrForbidden), errors.Is(err, indicator.ErrForbidden), errors.Is(err, registers.ErrForbidden),
		errors.Is(err, plan.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
	case errors.Is(err, offer.ErrInvalidState), errors.Is(err, purchase.ErrInvalidState), errors.Is(err, indicator.ErrInvalidState),
		errors.Is(err, plan.ErrInvalidState):
		s.renderError(w, r, http.StatusConflict)
	default:
		s.serverError(w, r, err)
	}
}

// logError logs err once, with the request it happened in.
func (s *Server) logError(r *http.Request, msg string, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelError, msg,
		slog.String("request_id", middleware.GetReqID(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("err", err.Error()),
	)
}
