package server

import (
	"context"
	"math"
	"net/http"
	"passerelle/internal/platform/once"
	"passerelle/web/components"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Every number a URL or a form carries goes through intIn: a value that
// is not a number, or out of its bounds, is absent (the caller's default,
// or not found). Nothing else parses numbers from requests, so no value
// can overflow in SQL ("OFFSET must not be negative", an int4 out of
// range) and answer 500.

// maxPage bounds the page of any list (50 a page: 5 M rows).
const maxPage = 100_000

// intIn reads s as a whole number in [lo, hi].
func intIn(s string, lo, hi int64) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// pageParam is ?page=, from 1 (the first page when absent or out of bounds).
func pageParam(r *http.Request) int { return pageOf(r.URL.Query().Get("page")) }

func pageOf(s string) int {
	if p, ok := intIn(s, 1, maxPage); ok {
		return int(p)
	}
	return 1
}

// idParam is the {id} of the path: a positive bigint.
func idParam(r *http.Request) (int64, bool) { return pathID(r, "id") }

// pathID is a positive bigint named name in the path.
func pathID(r *http.Request, name string) (int64, bool) {
	return intIn(chi.URLParam(r, name), 1, math.MaxInt64)
}

// queryID is a positive bigint of the query string; 0 when absent or
// invalid.
func queryID(r *http.Request, name string) int64 {
	id, _ := intIn(r.URL.Query().Get(name), 1, math.MaxInt64)
	return id
}

// yearParam reads ?name= as a year from 2000 to 2100, or gives def.
func yearParam(r *http.Request, name string, def int) int {
	if y, ok := intIn(r.URL.Query().Get(name), 2000, 2100); ok {
		return int(y)
	}
	return def
}

// onceField is the one-time token of a form that creates a row (see
// platform/once): fresh on a form shown for the first time, the same on a
// form shown again with its errors.
func onceField(r *http.Request) components.Field {
	return components.Field{Name: once.Field, Type: "hidden", Value: once.Of(r.PostFormValue(once.Field))}
}

// onceCtx is the request's context with the token the form posted.
func onceCtx(r *http.Request) context.Context {
	return once.With(r.Context(), r.PostFormValue(once.Field))
}
