package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"passerelle/web"
)

// routes is the one place where every route, its method and its access
// level are declared.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(
		middleware.RequestID,
		middleware.GetHead,
		secureHeaders(s.cfg.Production()),
		s.accessLog,
		s.language,
		s.recoverPanic,
		middleware.Compress(5, "text/html", "text/css", "application/json", "image/svg+xml", "text/plain"),
		middleware.Timeout(s.cfg.RequestTimeout),
		s.crossOriginProtection,
	)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusMethodNotAllowed) })

	// Operations: no session, no page.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle("/static/*", staticFiles(http.StripPrefix("/static/", http.FileServerFS(web.Static()))))

	// Public pages (visitors and members alike).
	r.Get("/", s.home)
	r.Post("/langue", s.setLanguage)

	return r
}

// staticFiles serves the embedded files; versioned URLs (?v=hash) are
// cached for a year since their content never changes.
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		next.ServeHTTP(w, r)
	})
}
