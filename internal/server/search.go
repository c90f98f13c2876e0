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
	"passerelle/internal/platform/validate"
	"passerelle/internal/search"
	"passerelle/web/components"
	searchpage "passerelle/web/pages/search"
)

// searchQuery reads q, f (facet keys, repeated), tri, page and apres.
func searchQuery(r *http.Request) search.Query {
	v := r.URL.Query()
	q := search.Query{Text: strings.TrimSpace(v.Get("q")), Sort: v.Get("tri"), After: v.Get("apres")}
	q.Text = validate.Clip(q.Text, 200) // in characters: a byte cut could split an accent
	q.Page = pageOf(v.Get("page"))
	for _, f := range v["f"] {
		if search.ValidFacet(f) && !slices.Contains(q.Facets, f) && len(q.Facets) < 8 {
			q.Facets = append(q.Facets, f)
		}
	}
	return q
}

// searchURL is the list's URL with the given facets, keeping the words and
// sort; paging starts again.
func searchURL(path string, q search.Query, facets []string) string {
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
		return path
	}
	return path + "?" + v.Encode()
}

// facetLabel names a facet key in the user's language.
func (s *Server) facetLabel(l *i18n.Localizer, key string) string {
	dim, val, _ := strings.Cut(key, ":")
	switch dim {
	case search.DimCPV:
		return s.labels(l).CPVPrefix(val)
	case search.DimReg, search.DimDep: // a place's facet key is the place itself
		return s.labels(l).Place(key)
	case search.DimTRL:
		return l.T("search.trl_value", "Level", val)
	case search.DimKind:
		if val == "pme" || val == "eti" {
			return l.T("kind." + val)
		}
		return l.T("offer.kind." + val)
	case search.DimSize:
		return l.T("search.size." + val)
	case search.KeyCert:
		return l.T("search.certified")
	}
	return key
}

var facetOrder = []string{search.DimCPV, search.DimReg, search.DimDep, search.DimKind, search.DimSize, search.DimTRL, search.KeyCert}

// searchView fills what the catalogue and the directory share.
func (s *Server) searchView(r *http.Request, path string, q search.Query, c search.Counts, sort string, page int, more bool, next string) searchpage.View {
	l := i18n.FromContext(r.Context())
	// The sort menu shows what was asked, relevance by default: words typed
	// in a list browsed by date are then ranked, as one expects.
	shown := q.Sort
	if shown == "" {
		shown = search.SortRelevance
	}
	v := searchpage.View{Action: path, Query: q.Text, Sort: shown, Submit: l.T("search.submit"),
		QueryLabel: l.T("search.query"), SortLabel: l.T("search.sort"), FacetsLabel: l.T("search.facets"),
		PagerLabel: l.T("search.pages"), PrevLabel: l.T("search.prev"), NextLabel: l.T("search.next")}
	for _, f := range q.Facets {
		v.Hidden = append(v.Hidden, components.Option{Value: f})
		rest := slices.DeleteFunc(slices.Clone(q.Facets), func(x string) bool { return x == f })
		label := s.facetLabel(l, f)
		v.Chips = append(v.Chips, searchpage.Chip{Label: label, RemoveURL: searchURL(path, q, rest), Remove: l.T("search.remove", "Label", label)})
	}
	for _, dim := range facetOrder {
		values := c.Facets[dim]
		if len(values) == 0 {
			continue
		}
		g := searchpage.FacetGroup{Label: l.T("search.dim." + dim)}
		for i, fc := range values {
			if slices.Contains(q.Facets, fc.Key) || i >= 12 {
				continue
			}
			g.Values = append(g.Values, searchpage.FacetValue{Label: s.facetLabel(l, fc.Key), Count: l.Int(int64(fc.Count)),
				URL: searchURL(path, q, append(slices.Clone(q.Facets), fc.Key))})
		}
		if len(g.Values) > 0 {
			v.Facets = append(v.Facets, g)
		}
	}
	link := func(set func(url.Values)) string {
		vals := r.URL.Query()
		vals.Del("page")
		vals.Del("apres")
		set(vals)
		return path + "?" + vals.Encode()
	}
	if sort == search.SortRelevance {
		if page > 1 {
			v.PrevURL = link(func(x url.Values) { x.Set("page", strconv.Itoa(page-1)) })
		}
		if more && page < search.MaxRelevancePages {
			v.NextURL = link(func(x url.Values) { x.Set("page", strconv.Itoa(page+1)) })
		}
	} else {
		if q.After != "" {
			v.PrevURL = link(func(url.Values) {}) // back to the first page: cursors only go forward
			v.PrevLabel = l.T("search.first")
		}
		if more {
			v.NextURL = link(func(x url.Values) { x.Set("apres", next) })
		}
	}
	return v
}

// tailNotice says how a search whose words were found nowhere together
// was answered: by names close to what was typed, or without some words.
func tailNotice(l *i18n.Localizer, text string, byName bool, ignored []string) string {
	switch {
	case byName:
		return l.T("search.by_name", "Query", strings.TrimSpace(text))
	case len(ignored) > 0:
		return l.T("search.ignored", "Count", len(ignored), "Words", "« "+strings.Join(ignored, " », « ")+" »")
	}
	return ""
}

func totalText(l *i18n.Localizer, key string, c search.Counts) string {
	if c.Capped {
		return l.T(key+"_capped", "N", l.Int(int64(c.Total)))
	}
	return l.T(key, "N", l.Int(int64(c.Total)))
}

// catalogue searches the offers: members see everything listed with links to
// the SMEs' profiles; visitors see the public showcase, which invites them
// to join and shows no contact details.
func (s *Server) catalogue(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	q := searchQuery(r)
	start := time.Now()
	res, err := s.search.Offers(r.Context(), q)
	timeSearch(w, start)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.searchView(r, "/offres", q, res.Counts, res.Sort, res.Page, res.More, res.Next)
	v.Page = s.page(r, "catalogue.title")
	v.Title, v.Lead, v.QueryHint = l.T("catalogue.title"), l.T("catalogue.lead"), l.T("catalogue.hint")
	v.Sorts = []components.Option{{Value: search.SortRelevance, Label: l.T("search.sort.relevance")}, {Value: search.SortRecent, Label: l.T("search.sort.recent")}}
	v.Total, v.Count = totalText(l, "catalogue.total", res.Counts), res.Counts.Total
	v.Notice = tailNotice(l, q.Text, res.ByName, res.Ignored)
	v.Empty = l.T("catalogue.empty")
	if !a.SignedIn() {
		v.Lead = l.T("showcase.lead")
		v.Join = &searchpage.Join{Text: l.T("showcase.join_text"), Label: l.T("showcase.join"), URL: "/adhesion"}
	}
	for _, h := range res.Hits {
		hit := searchpage.Hit{Title: h.Title, URL: fmt.Sprintf("/offres/%d", h.ID), Subtitle: h.OrgName, Text: h.Summary, TestID: "offer-hit",
			Badges: []string{l.T("offer.kind." + h.Kind)}}
		if h.TRL != nil {
			hit.Badges = append(hit.Badges, l.T("search.trl_value", "Level", strconv.Itoa(int(*h.TRL))))
		}
		hit.Facts = append(hit.Facts, s.labels(l).CPVs(h.CPVCodes)...)
		hit.Facts = append(hit.Facts, s.labels(l).PlacesServed(h.Places))
		v.Hits = append(v.Hits, hit)
	}
	s.render(w, r, http.StatusOK, searchpage.Page(v))
}

// directory lists member SMEs for members and staff.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	q := searchQuery(r)
	start := time.Now()
	res, err := s.search.SMEs(r.Context(), q)
	timeSearch(w, start)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.searchView(r, "/annuaire", q, res.Counts, res.Sort, res.Page, res.More, res.Next)
	v.Page = s.page(r, "directory.title")
	v.Title, v.Lead, v.QueryHint = l.T("directory.title"), l.T("directory.lead"), l.T("directory.hint")
	v.Sorts = []components.Option{{Value: search.SortRelevance, Label: l.T("search.sort.relevance")},
		{Value: search.SortName, Label: l.T("search.sort.name")}, {Value: search.SortRecent, Label: l.T("search.sort.joined")}}
	v.Total, v.Count = totalText(l, "directory.total", res.Counts), res.Counts.Total
	v.Notice = tailNotice(l, q.Text, res.ByName, res.Ignored)
	v.Empty = l.T("directory.empty")
	lab := s.labels(l)
	for _, h := range res.Hits {
		hit := searchpage.Hit{Title: h.Name, URL: fmt.Sprintf("/entreprises/%d", h.ID), TestID: "sme-hit",
			Subtitle: "SIREN " + h.SIREN + " · " + l.T("kind."+h.Kind), Text: validate.Shorten(h.Description, 280)}
		if slices.Contains(h.Facets, search.KeyCert) {
			hit.Badges = append(hit.Badges, l.T("search.certified"))
		}
		if _, ok := s.tax.Departement(h.Departement); ok {
			hit.Facts = append(hit.Facts, lab.Departement(h.Departement))
		}
		if _, ok := s.tax.NAF(h.NAFCode); ok {
			hit.Facts = append(hit.Facts, lab.NAF(h.NAFCode))
		}
		hit.Facts = append(hit.Facts, l.T("directory.offers", "N", l.Int(int64(h.Offers))))
		v.Hits = append(v.Hits, hit)
	}
	s.render(w, r, http.StatusOK, searchpage.Page(v))
}
