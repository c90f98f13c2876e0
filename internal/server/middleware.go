package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"passerelle/internal/platform/i18n"
)

// validRequestID reports whether a client-sent id may be kept.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("-_./:", c):
		default:
			return false
		}
	}
	return true
}

// dropBadRequestID removes a client-sent X-Request-Id that is not plain,
// before chi's RequestID middleware reads it.
func dropBadRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get(middleware.RequestIDHeader); id != "" && !validRequestID(id) {
			r.Header.Del(middleware.RequestIDHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one structured line per request, with its request id.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The id is shown on error pages and sent back, so a user's report
		// leads straight to the log line.
		w.Header().Set("X-Request-Id", middleware.GetReqID(r.Context()))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		ctx := context.WithValue(r.Context(), startKey{}, start)
		ctx = context.WithValue(ctx, sessionErrorKey{}, new(bool))
		next.ServeHTTP(ww, r.WithContext(ctx))
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
			slog.String("client", clientAddr(r)),
		)
	})
}

type startKey struct{}

// serverTiming tells the browser (and the benchmark) how long the server
// worked on a page, in the standard Server-Timing header.
func serverTiming(w http.ResponseWriter, r *http.Request) {
	if start, ok := r.Context().Value(startKey{}).(time.Time); ok {
		w.Header().Add("Server-Timing", fmt.Sprintf("app;dur=%.2f", float64(time.Since(start).Microseconds())/1000))
	}
}

// timeSearch adds the time a search took to the page's Server-Timing.
func timeSearch(w http.ResponseWriter, since time.Time) {
	w.Header().Add("Server-Timing", fmt.Sprintf("search;dur=%.2f", float64(time.Since(since).Microseconds())/1000))
}

// recoverPanic turns a panic into a logged error and the friendly 500 page.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec) // the client went away: let net/http handle it silently
			}
			s.serverError(w, r, fmt.Errorf("panic: %v\n%s", rec, debug.Stack()))
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every response carries. The content
// security policy allows no inline script or style: pages work without
// JavaScript and any enhancement comes from our own static files.
func secureHeaders(production bool) func(http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; " +
		"base-uri 'self'; object-src 'none'"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if production {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// crossOriginProtection rejects state-changing requests that a browser
// marks as coming from another site (Go's http.CrossOriginProtection:
// Sec-Fetch-Site, then Origin against Host).
func (s *Server) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "request_id", middleware.GetReqID(r.Context()),
			"path", r.URL.Path, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.renderError(w, r, http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// langCookie remembers each visitor's language.
const langCookie = "lang"

// language picks the interface language: the visitor's choice, else French.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := i18n.Default
		if c, err := r.Cookie(langCookie); err == nil && i18n.Supported(c.Value) {
			lang = c.Value
		}
		w.Header().Set("Content-Language", lang) // Vary: Cookie comes from the session middleware, on every response
		ctx := i18n.WithLocalizer(r.Context(), s.catalog.Localizer(lang))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
