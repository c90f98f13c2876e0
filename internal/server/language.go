package server

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"passerelle/internal/platform/i18n"
)

// setLanguage remembers the visitor's language for a year and returns to
// the page they were on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if !i18n.Supported(lang) {
		lang = i18n.Default
	}
	http.SetCookie(w, &http.Cookie{
		Name:     langCookie,
		Value:    lang,
		Path:     "/",
		MaxAge:   365 * 24 * 3600,
		HttpOnly: true,
		Secure:   s.cfg.Production(),
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath keeps a redirect target on this site: a path such as
// "/annuaire?q=x", never "//evil.example", "https://…" or one of the
// classic bypasses: a backslash (read as a slash), a control character
// (browsers drop tabs and newlines, so "/\t/evil.example" becomes
// "//evil.example"), a scheme or a host however spelled.
func localPath(next string) string {
	if next == "" || len(next) > 2000 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsRune(next, '\\') || strings.ContainsFunc(next, invisible) ||
		!utf8.ValidString(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// invisible reports control and format characters (tabs, newlines, NUL,
// bidi overrides, zero-width spaces): nothing a real link holds.
func invisible(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
