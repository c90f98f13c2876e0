package server

import (
	"net/http"
	"strconv"

	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
)

// pager builds the pagination of a list of size-long pages whose other
// query parameters stay.
func pager(l *i18n.Localizer, r *http.Request, page, total, size int) components.Pager {
	pages := (total + size - 1) / size
	p := components.Pager{Page: page, Pages: pages, Total: total, Label: l.T("list.page", "Page", page, "Pages", pages)}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.PrevURL = link(page - 1)
	}
	if page < pages {
		p.NextURL = link(page + 1)
	}
	return p
}
