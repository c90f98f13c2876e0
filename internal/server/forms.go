package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/validate"
	"passerelle/web/components"
)

// withErrors puts each field's error (a catalogue id) on the form and
// builds the summary shown at the top.
func withErrors(l *i18n.Localizer, f components.Form, errs map[string]string) components.Form {
	f.Summary = l.T("form.summary")
	f.Errors = nil
	for i := range f.Fields {
		if fieldError(l, &f.Fields[i], errs) {
			f.Errors = append(f.Errors, f.Fields[i])
		}
	}
	return f
}

// fieldError ties a field's error, if any, to it and tells whether there
// was one: a places field answers for the régions and départements it
// chooses.
func fieldError(l *i18n.Localizer, f *components.Field, errs map[string]string) bool {
	if f.Type == "hidden" {
		return false
	}
	for _, name := range fieldNames(*f) {
		if id, ok := errs[name]; ok {
			f.Error = l.T(id)
			if f.Places != nil {
				p := *f.Places
				p.Error = f.Error
				f.Places = &p
			}
			return true
		}
	}
	return false
}

// fieldNames are the form values a field posts.
func fieldNames(f components.Field) []string {
	if f.Type == "places" {
		return []string{"regions", "departements", f.Name}
	}
	return []string{f.Name}
}

// withAllErrors is withErrors for a form alone on its page: an error about
// a value it does not show (a posted offer that is not the SME's, with no
// offer to choose from) is still said, in the summary: never a 422
// without a word. (Where several forms share a page and their errors, each
// says only its own.)
func withAllErrors(l *i18n.Localizer, f components.Form, errs map[string]string) components.Form {
	f = withErrors(l, f, errs)
	shown := map[string]bool{}
	for _, e := range f.Errors {
		for _, name := range fieldNames(e) {
			shown[name] = true
		}
	}
	var rest []string
	for name := range errs {
		if !shown[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		f.Errors = append(f.Errors, components.Field{Name: name, Error: l.T(errs[name])})
	}
	return f
}

// fieldErrors returns the field errors of a service error, if it is a
// validation error.
func fieldErrors(err error) (map[string]string, bool) {
	var v *validate.Error
	if errors.As(err, &v) {
		return v.Fields, true
	}
	return nil, false
}

// parseForm reads the body of a state-changing request once, before any
// handler: a body over the limit gets the 413 page and a malformed one the
// 400 page, instead of a form that seems empty ("required field" errors).
// Every query parameter and form value is cleaned of what no text may
// hold (invalid UTF-8, NUL and other control characters but tab and
// newline), so no handler passes PostgreSQL bytes it refuses.
func (s *Server) parseForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); cleanValues(q) {
			r.URL.RawQuery = q.Encode()
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			var err error
			if _, upload := uploads[r.URL.Path]; upload {
				// A file: its handler reads it once the user is known
				// to be allowed to send it.
				next.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				err = r.ParseMultipartForm(maxBody)
			} else {
				err = r.ParseForm()
			}
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				s.renderError(w, r, http.StatusRequestEntityTooLarge)
				return
			case err != nil:
				s.renderError(w, r, http.StatusBadRequest)
				return
			}
			cleanValues(r.PostForm)
			cleanValues(r.Form)
		}
		next.ServeHTTP(w, r)
	})
}

// cleanValues cleans every value in place and reports whether one changed.
func cleanValues(v url.Values) bool {
	changed := false
	for k, list := range v {
		for i, x := range list {
			if c := cleanText(x); c != x {
				list[i], changed = c, true
			}
		}
		if c := cleanText(k); c != k {
			delete(v, k)
			v[c] = append(v[c], list...)
			changed = true
		}
	}
	return changed
}

// cleanText drops invalid UTF-8 and control characters but tab, newline
// and carriage return (textareas send CRLF).
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
	}) {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// maxBody is the most a request may send (1 MiB).
const maxBody = 1 << 20

// uploads are the paths that take a file, with the most they may send:
// the file's limit and room for the rest of the form.
var uploads = map[string]int64{
	"/equipe/declarations/import": indicator.MaxImportBytes + maxBody,
}

// limitBody bounds what a form may send (maxBody, or an upload's limit).
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			limit, ok := uploads[r.URL.Path]
			if !ok {
				limit = maxBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
