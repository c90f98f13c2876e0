package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/felixge/httpsnoop"
)

// Nothing a signed-in user is shown, and no export, may be kept by the
// browser or a cache on the way: the selection CSV holds SIREN numbers
// and messages, a conversation is private. The session manager only adds
// `no-cache="Set-Cookie"` when it writes its cookie, and handlers set
// their own Cache-Control (the CPV picker: five minutes). So the decision
// is taken once, as the headers go out, outside the session: a response
// marked private (loadActor marks every signed-in user's) or of type
// text/csv leaves with `Cache-Control: private, no-store` and nothing else.

type cacheMarkKey struct{}

// markPrivate says that this response is for a signed-in user.
func markPrivate(r *http.Request) {
	if m, ok := r.Context().Value(cacheMarkKey{}).(*atomic.Bool); ok {
		m.Store(true)
	}
}

// privateResponses sets the final Cache-Control of private responses and
// exports. It sits outside the session middleware, so it runs after it
// has added its headers.
func privateResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/static/") { // the same for everyone, cached by their own rules
			next.ServeHTTP(w, r)
			return
		}
		marked := new(atomic.Bool)
		var once sync.Once
		fix := func() {
			once.Do(func() {
				h := w.Header()
				if marked.Load() || strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
					h.Set("Cache-Control", "private, no-store")
				}
			})
		}
		ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) { fix(); next(code) }
			},
			Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) { fix(); return next(b) }
			},
			ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
				return func(src io.Reader) (int64, error) { fix(); return next(src) }
			},
		})
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), cacheMarkKey{}, marked)))
	})
}
