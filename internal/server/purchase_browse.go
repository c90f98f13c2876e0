package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/present"
	"passerelle/internal/platform/validate"
	"passerelle/internal/purchase"
	"passerelle/web/components"
	searchpage "passerelle/web/pages/search"
)

// browseQuery reads q, f (facet keys, repeated), tri and page.
func browseQuery(r *http.Request) purchase.Query {
	v := r.URL.Query()
	if r.Method == http.MethodPost {
		v = r.PostForm
	}
	q := purchase.Query{Text: validate.Clip(strings.TrimSpace(v.Get("q")), 200), Sort: v.Get("tri")}
	q.Page = pageOf(v.Get("page"))
	for _, f := range v["f"] {
		if purchase.ValidFacet(f) && !slices.Contains(q.Facets, f) && len(q.Facets) < 8 {
			q.Facets = append(q.Facets, f)
		}
	}
	return q
}

func browseURL(q purchase.Query, facets []string) string {
	v := url.Values{}
	if q.Text != "" {
		v.Set("q", q.Text)
	}
	if q.Sort != "" {
		v.Set("tri", q.Sort)
	}
	for _, f := range facets {
		v.Add("f", f)
	}
	if len(v) == 0 {
		return "/demandes"
	}
	return "/demandes?" + v.Encode()
}

// requestFacetLabel names a facet key of requests.
func (s *Server) requestFacetLabel(l *i18n.Localizer, key string) string {
	dim, val, _ := strings.Cut(key, ":")
	switch dim {
	case "budget":
		return l.T("request.budget." + val)
	case "deadline":
		return l.T("request.deadline_within", "Days", val)
	}
	return s.facetLabel(l, key)
}

var requestFacetOrder = []string{"cpv", "reg", "dep", "budget", "deadline"}

// requestsBrowse is the SMEs' list of open requests: French search,
// facets with counts, saved searches.
func (s *Server) requestsBrowse(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	q := browseQuery(r)
	start := time.Now()
	res, err := s.purchases.Browse(r.Context(), a, q)
	timeSearch(w, start)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	shown := q.Sort
	if shown == "" {
		shown = purchase.SortRelevance
	}
	v := searchpage.View{Page: s.page(r, "browse.title"), Title: l.T("browse.title"), Lead: l.T("browse.lead"), Action: "/demandes",
		Query: q.Text, QueryLabel: l.T("search.query"), QueryHint: l.T("browse.hint"), Submit: l.T("search.submit"),
		SortLabel: l.T("search.sort"), Sort: shown, FacetsLabel: l.T("search.facets"), PagerLabel: l.T("search.pages"),
		PrevLabel: l.T("search.prev"), NextLabel: l.T("search.next"), Empty: l.T("browse.empty"), Count: res.Total,
		Total: l.T("browse.total", "N", l.Int(int64(res.Total)))}
	v.Sorts = []components.Option{{Value: purchase.SortRelevance, Label: l.T("search.sort.relevance")}, {Value: purchase.SortDeadline, Label: l.T("browse.sort.deadline")}}
	s.browseFacets(l, &v, q, res)
	page := min(max(q.Page, 1), res.Pages)
	link := func(n int) string {
		vals := r.URL.Query()
		vals.Set("page", strconv.Itoa(n))
		return "/demandes?" + vals.Encode()
	}
	if page > 1 {
		v.PrevURL = link(page - 1)
	}
	if page < res.Pages {
		v.NextURL = link(page + 1)
	}
	s.browseHits(l, &v, res.Hits)
	s.savedSearches(l, &v, q, res.Saved)
	s.render(w, r, http.StatusOK, searchpage.Page(v))
}

// browseFacets are the chips of the facets chosen and the counts of the
// others.
func (s *Server) browseFacets(l *i18n.Localizer, v *searchpage.View, q purchase.Query, res purchase.Results) {
	for _, f := range q.Facets {
		v.Hidden = append(v.Hidden, components.Option{Value: f})
		rest := slices.DeleteFunc(slices.Clone(q.Facets), func(x string) bool { return x == f })
		label := s.requestFacetLabel(l, f)
		v.Chips = append(v.Chips, searchpage.Chip{Label: label, RemoveURL: browseURL(q, rest), Remove: l.T("search.remove", "Label", label)})
	}
	for _, dim := range requestFacetOrder {
		g := searchpage.FacetGroup{Label: l.T("browse.dim." + dim)}
		for _, fc := range res.Facets[dim] {
			if slices.Contains(q.Facets, fc.Key) || len(g.Values) >= 12 {
				continue
			}
			g.Values = append(g.Values, searchpage.FacetValue{Label: s.requestFacetLabel(l, fc.Key), Count: l.Int(int64(fc.Count)),
				URL: browseURL(q, append(slices.Clone(q.Facets), fc.Key))})
		}
		if len(g.Values) > 0 {
			v.Facets = append(v.Facets, g)
		}
	}
}

// browseHits are the requests found.
func (s *Server) browseHits(l *i18n.Localizer, v *searchpage.View, hits []purchase.Hit) {
	lab := s.labels(l)
	for _, h := range hits {
		buyer := h.BuyerName
		if buyer == "" {
			buyer = l.T("request.anonymous_buyer")
		}
		hit := searchpage.Hit{Title: h.Title, URL: fmt.Sprintf("/demandes/%d", h.ID), Subtitle: buyer, Text: validate.Shorten(h.Description, 280),
			TestID: "request-hit", Badges: []string{l.T("request.budget." + h.BudgetBand)}}
		if h.Innovative {
			hit.Badges = append(hit.Badges, l.T("request.innovative_badge"))
		}
		if h.State != nil && *h.State != purchase.StateSuggested {
			hit.Badges = append(hit.Badges, l.T("match.state."+string(*h.State)))
		}
		hit.Facts = append(hit.Facts, l.T("requests.deadline_on", "Date", l.Date(h.Deadline)))
		hit.Facts = append(hit.Facts, lab.CPVs(h.CPVCodes)...)
		hit.Facts = append(hit.Facts, lab.Places(h.Places))
		v.Hits = append(v.Hits, hit)
	}
}

// savedSearches is the form that saves this search and the list of those
// saved.
func (s *Server) savedSearches(l *i18n.Localizer, v *searchpage.View, q purchase.Query, saved []purchase.SavedSearch) {
	v.Saved = &searchpage.Saved{Title: l.T("browse.saved_title"), Lead: l.T("browse.saved_lead"), Empty: l.T("browse.saved_empty"),
		Form: components.Form{Action: "/demandes/recherches", Submit: l.T("browse.save"), TestID: "save-search",
			Fields: []components.Field{{Name: "q", Type: "hidden", Value: q.Text}}}}
	for _, f := range q.Facets {
		v.Saved.Form.Fields = append(v.Saved.Form.Fields, components.Field{Name: "f", Type: "hidden", Value: f})
	}
	for _, ss := range saved {
		parts := []string{}
		if ss.Query != "" {
			parts = append(parts, "« "+ss.Query+" »")
		}
		for _, f := range ss.Facets {
			parts = append(parts, s.requestFacetLabel(l, f))
		}
		v.Saved.Items = append(v.Saved.Items, searchpage.SavedItem{Label: strings.Join(parts, " · "),
			URL: browseURL(purchase.Query{Text: ss.Query}, ss.Facets), DeleteAction: fmt.Sprintf("/demandes/recherches/%d/supprimer", ss.ID),
			DeleteLabel: l.T("browse.saved_delete")})
	}
}

// searchSave keeps the current search for the daily digest.
func (s *Server) searchSave(w http.ResponseWriter, r *http.Request) {
	q := browseQuery(r)
	err := s.purchases.SaveSearch(r.Context(), actorFrom(r.Context()), q)
	if errs, ok := fieldErrors(err); ok {
		s.flash(r, errs["q"])
		http.Redirect(w, r, browseURL(q, q.Facets), http.StatusSeeOther)
		return
	}
	s.afterStep(w, r, err, "browse.flash_saved", browseURL(q, q.Facets))
}

// searchDelete removes a saved search.
func (s *Server) searchDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.afterStep(w, r, s.purchases.DeleteSearch(r.Context(), actorFrom(r.Context()), id), "browse.flash_deleted", "/demandes")
}

// requestsForYou lists the open requests the SME is matched to, best
// score first, each with why it fits.
func (s *Server) requestsForYou(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	hits, matches, total, err := s.purchases.ForYou(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := searchpage.View{Page: s.page(r, "foryou.title"), Title: l.T("foryou.title"), Lead: l.T("foryou.lead"), Action: "/demandes",
		QueryLabel: l.T("search.query"), QueryHint: l.T("browse.hint"), Submit: l.T("search.submit"), SortLabel: l.T("search.sort"),
		Sort: purchase.SortRelevance, FacetsLabel: l.T("search.facets"), PagerLabel: l.T("search.pages"), PrevLabel: l.T("search.prev"),
		NextLabel: l.T("search.next"), Empty: l.T("foryou.empty"), Count: total, Total: l.T("browse.total", "N", l.Int(int64(total)))}
	v.Sorts = []components.Option{{Value: purchase.SortRelevance, Label: l.T("search.sort.relevance")}, {Value: purchase.SortDeadline, Label: l.T("browse.sort.deadline")}}
	p := pager(l, r, page, total, purchase.PageSize)
	v.PrevURL, v.NextURL = p.PrevURL, p.NextURL
	lab := s.labels(l)
	for i, h := range hits {
		buyer := h.BuyerName
		if buyer == "" {
			buyer = l.T("request.anonymous_buyer")
		}
		hit := searchpage.Hit{Title: h.Title, URL: fmt.Sprintf("/demandes/%d", h.ID), Subtitle: buyer, Text: validate.Shorten(h.Description, 200),
			TestID: "for-you-hit", Badges: []string{l.T("request.budget." + h.BudgetBand)}}
		if h.State != nil && *h.State != purchase.StateSuggested {
			hit.Badges = append(hit.Badges, l.T("match.state."+string(*h.State)))
		}
		hit.Facts = append(hit.Facts, l.T("requests.deadline_on", "Date", l.Date(h.Deadline)), lab.Places(h.Places))
		hit.Reasons = lab.Explain(matches[i].Reasons, present.SME).Reasons
		v.Hits = append(v.Hits, hit)
	}
	s.render(w, r, http.StatusOK, searchpage.Page(v))
}
