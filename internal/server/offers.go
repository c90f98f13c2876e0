package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
	offerpage "passerelle/web/pages/offer"
)

// idParam reads the {id} of the path; false renders a 404.
func (s *Server) statusText(l *i18n.Localizer, st offer.Status) string {
	return l.T("offer.status." + string(st))
}

// myOffers lists the SME's offers with their status and staff's reasons.
func (s *Server) myOffers(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	list, total, err := s.offerSvc.Mine(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := offerpage.Mine{Page: s.page(r, "offers.mine_title"), Title: l.T("offers.mine_title"), Lead: l.T("offers.mine_lead"),
		NewURL: "/espace/offres/nouvelle", NewLabel: l.T("offers.new"), Empty: l.T("offers.mine_empty"),
		Total: l.T("list.total", "Count", total), Pager: pager(l, r, page, total, offer.PageSize)}
	for _, o := range list {
		row := offerpage.Row{Status: string(o.Status), Title: o.Title, URL: fmt.Sprintf("/offres/%d", o.ID), Badge: s.statusText(l, o.Status), BadgeKind: string(o.Status),
			Facts: append(s.labels(l).CPVs(o.CPVCodes), l.T("offers.updated", "Date", l.Date(o.UpdatedAt)))}
		if o.Status == offer.StatusRejected && o.StatusReason != "" {
			row.Reason = l.T("offers.sent_back", "Reason", o.StatusReason)
		}
		base := fmt.Sprintf("/espace/offres/%d", o.ID)
		if o.Status != offer.StatusArchived {
			row.EditURL, row.EditLabel = base+"/modifier", l.T("offers.edit")
			if o.Status == offer.StatusDraft || o.Status == offer.StatusRejected {
				row.Actions = append(row.Actions, offerpage.Action{URL: base + "/soumettre", Label: l.T("offers.submit"), TestID: "submit"})
			}
			row.Actions = append(row.Actions, offerpage.Action{URL: base + "/archiver", Label: l.T("offers.archive"), Danger: true,
				Confirm: l.T("offers.archive_confirm"), TestID: "archive"})
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, offerpage.MineView(v))
}

// offerForm builds the form's view from the input, the CPV search typed
// and the field errors.
func (s *Server) offerForm(r *http.Request, action, titleKey string, in offer.Input, ps pickerSearch, errs map[string]string) offerpage.Form {
	l := i18n.FromContext(r.Context())
	kinds := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, k := range offer.Kinds {
		kinds = append(kinds, components.Option{Value: k, Label: l.T("offer.kind." + k)})
	}
	trls := []components.Option{{Value: "", Label: l.T("offer.trl_none")}}
	for i := 1; i <= 9; i++ {
		trls = append(trls, components.Option{Value: strconv.Itoa(i), Label: l.T("offer.trl." + strconv.Itoa(i))})
	}
	f := offerpage.Form{Page: s.page(r, titleKey), Title: l.T(titleKey), Lead: l.T("offers.form_lead"), Action: action,
		Summary: l.T("form.summary"), SaveLabel: l.T("offers.save_draft"), SubmitLabel: l.T("offers.save_submit"),
		Before: []components.Field{
			{Name: "title", Label: l.T("offer.title"), Type: "text", Value: in.Title, Required: true, MaxLength: offer.MaxTitle},
			{Name: "summary", Label: l.T("offer.summary"), Hint: l.T("offer.summary_hint"), Type: "textarea", Value: in.Summary, Required: true, MaxLength: offer.MaxSummary},
			{Name: "description", Label: l.T("offer.description"), Type: "textarea", Value: in.Description, MaxLength: offer.MaxDescription},
			{Name: "kind", Label: l.T("offer.kind"), Type: "select", Value: in.Kind, Options: kinds, Required: true},
		},
		After: []components.Field{
			{Name: "trl", Label: l.T("offer.trl"), Hint: l.T("offer.trl_hint"), Type: "select", Value: in.TRL, Options: trls},
			s.placesField(l, l.T("offer.places_hint"), in.Regions, in.Departements, ps),
			{Name: "keywords", Label: l.T("offer.keywords"), Hint: l.T("offer.keywords_hint"), Type: "text", Value: in.Keywords, MaxLength: offer.MaxKeywords},
		},
		CPV: offerpage.Picker{Legend: l.T("offer.cpv"), Hint: l.T("offer.cpv_hint"), SearchLabel: l.T("offer.cpv_search"),
			SearchValue: ps.cpv, SearchSubmit: l.T("offer.cpv_search_submit")},
	}
	for _, c := range in.CPVCodes {
		if v, ok := s.tax.CPV(c); ok {
			f.CPV.Chosen = append(f.CPV.Chosen, s.labels(l).CPVOption(v))
		}
	}
	if ps.cpvShown {
		f.CPV.Results = s.cpvResults(l, ps.cpv, in.CPVCodes)
	}
	pickerErrors(l, &f, errs)
	if strings.HasSuffix(action, "/nouvelle") {
		f.After = append(f.After, onceField(r))
	}
	return f
}

// pickerErrors ties the field errors to the form's fields and pickers, and
// lists them in the summary.
func pickerErrors(l *i18n.Localizer, f *offerpage.Form, errs map[string]string) {
	for _, list := range [][]components.Field{f.Before, f.After} {
		for i := range list {
			if fieldError(l, &list[i], errs) {
				f.Errors = append(f.Errors, list[i])
			}
		}
	}
	if id, ok := errs["cpv"]; ok {
		f.CPV.Error = l.T(id)
		f.Errors = append(f.Errors, components.Field{Name: "cpv", Label: f.CPV.Legend, Error: f.CPV.Error})
	}
}

// pickerSearch is what a picker form's search buttons asked: the CPV
// codes' and the places' searches, each with whether to show its results.
type pickerSearch struct {
	cpv, place           string
	cpvShown, placeShown bool
	coach                bool // the request coach was asked for
}

// placesField is the places' picker: the chosen régions and départements
// ticked, then those the search finds (the régions without a search).
func (s *Server) placesField(l *i18n.Localizer, hint string, regions, depts []string, ps pickerSearch) components.Field {
	lab := s.labels(l)
	p := components.PlacePicker{Legend: l.T("offer.places"), Hint: hint, SearchLabel: l.T("places.search"), SearchValue: ps.place,
		SearchSubmit: l.T("offer.cpv_search_submit")}
	var chosen []string
	for _, list := range []struct {
		name, kind string
		codes      []string
	}{{"regions", taxonomy.PlaceReg, regions}, {"departements", taxonomy.PlaceDep, depts}} {
		for _, c := range list.codes {
			key := list.kind + ":" + c
			if name := lab.Place(key); name != key && !slices.Contains(chosen, key) {
				chosen = append(chosen, key)
				p.Chosen = append(p.Chosen, components.PlaceChoice{Name: list.name, Value: c, Label: name})
			}
		}
	}
	q := ""
	if ps.placeShown {
		q = ps.place
	}
	for _, key := range s.tax.SearchPlaces(q) {
		if slices.Contains(chosen, key) {
			continue
		}
		kind, code, _ := strings.Cut(key, ":")
		name := "departements"
		if kind == taxonomy.PlaceReg {
			name = "regions"
		}
		p.Results = append(p.Results, components.PlaceChoice{Name: name, Value: code, Label: lab.Place(key)})
	}
	switch {
	case strings.TrimSpace(q) == "":
		p.ResultsLabel = l.T("places.regions")
	case len(p.Results) == 0:
		p.Empty = l.T("places.none")
	default:
		p.ResultsLabel = l.T("places.found", "Query", strings.TrimSpace(q))
	}
	return components.Field{Name: "places", Label: p.Legend, Type: "places", Places: &p}
}

// cpvResults finds up to 15 codes by label or code, leaving out those chosen.
func (s *Server) cpvResults(l *i18n.Localizer, q string, chosen []string) offerpage.Results {
	res := offerpage.Results{Empty: l.T("offer.cpv_none")}
	if strings.TrimSpace(q) == "" {
		return res
	}
	for _, c := range s.tax.SearchCPV(q, 15+len(chosen)) {
		if slices.Contains(chosen, c.Code) || len(res.Options) == 15 {
			continue
		}
		res.Options = append(res.Options, s.labels(l).CPVOption(c))
	}
	return res
}

// cpvSearch answers the picker's requests as one types: the same results
// component the form renders without JavaScript.
func (s *Server) cpvSearch(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	q := validate.Clip(r.URL.Query().Get("q"), 100)
	w.Header().Set("Cache-Control", "private, max-age=300")
	s.render(w, r, http.StatusOK, offerpage.ResultsView(s.cpvResults(l, q, nil)))
}

func offerInput(r *http.Request) offer.Input {
	_ = r.ParseForm()
	return offer.Input{Title: r.PostFormValue("title"), Summary: r.PostFormValue("summary"), Description: r.PostFormValue("description"),
		Kind: r.PostFormValue("kind"), CPVCodes: r.PostForm["cpv"], TRL: r.PostFormValue("trl"), Regions: r.PostForm["regions"],
		Departements: r.PostForm["departements"], Keywords: r.PostFormValue("keywords")}
}

func (s *Server) offerNew(w http.ResponseWriter, r *http.Request) {
	// Advice on a request leads here with its CPV code ticked (?cpv=).
	var in offer.Input
	for _, c := range r.URL.Query()["cpv"] {
		if _, ok := s.tax.CPV(c); ok && !slices.Contains(in.CPVCodes, c) && len(in.CPVCodes) < 5 {
			in.CPVCodes = append(in.CPVCodes, c)
		}
	}
	s.render(w, r, http.StatusOK, offerpage.FormView(s.offerForm(r, "/espace/offres/nouvelle", "offers.new_title", in, pickerSearch{}, nil)))
}

// pickerForm is a form with the CPV picker and two save buttons (offers,
// purchase requests): how it is shown and saved, and where it goes after.
type pickerForm struct {
	list         string // the list it returns to
	show         func(status int, ps pickerSearch, errs map[string]string)
	normalize    func() // cleans the input before it is shown again
	save         func(submit bool) error
	invalidState error  // the domain's "not possible in this state"
	flashState   string // the message when the state changed meanwhile
	flashSubmit  string
}

// savePicker handles a picker form's POST: a search button (CPV codes,
// places) re-renders the form with its results, the coach's button with
// its reading; the two save buttons save
// as a draft or for review; field errors re-render it with 422, input kept.
func (s *Server) savePicker(w http.ResponseWriter, r *http.Request, f pickerForm) {
	ps := pickerSearch{cpv: r.PostFormValue("cpv_q"), place: r.PostFormValue("place_q")}
	if action := r.PostFormValue("action"); action == "cpv" || action == "place" || action == "coach" {
		ps.cpvShown, ps.placeShown, ps.coach = action == "cpv", action == "place", action == "coach"
		f.normalize()
		f.show(http.StatusOK, ps, nil)
		return
	}
	submit := r.PostFormValue("action") == "submit"
	err := f.save(submit)
	if errs, ok := fieldErrors(err); ok {
		ps.cpvShown, ps.placeShown = ps.cpv != "", ps.place != ""
		f.normalize()
		f.show(http.StatusUnprocessableEntity, ps, errs)
		return
	}
	if errors.Is(err, f.invalidState) { // changed meanwhile (another tab)
		s.flash(r, f.flashState)
		http.Redirect(w, r, f.list, http.StatusSeeOther)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	if submit {
		s.flash(r, f.flashSubmit)
	} else {
		s.flash(r, "offers.flash_saved")
	}
	http.Redirect(w, r, f.list, http.StatusSeeOther)
}

// offerSave handles both offer forms (new and edit).
func (s *Server) offerSave(w http.ResponseWriter, r *http.Request, id int64) {
	a := actorFrom(r.Context())
	in := offerInput(r)
	action, titleKey := "/espace/offres/nouvelle", "offers.new_title"
	if id != 0 {
		action, titleKey = fmt.Sprintf("/espace/offres/%d/modifier", id), "offers.edit_title"
	}
	s.savePicker(w, r, pickerForm{list: "/espace/offres", invalidState: offer.ErrInvalidState, flashState: "offers.flash_state",
		flashSubmit: "offers.flash_submitted", normalize: in.Normalize,
		show: func(status int, ps pickerSearch, errs map[string]string) {
			s.render(w, r, status, offerpage.FormView(s.offerForm(r, action, titleKey, in, ps, errs)))
		},
		save: func(submit bool) error {
			if id == 0 {
				_, err := s.offerSvc.Create(onceCtx(r), a, in, submit)
				return err
			}
			return s.offerSvc.Update(r.Context(), a, id, in, submit)
		}})
}

func (s *Server) offerCreate(w http.ResponseWriter, r *http.Request) { s.offerSave(w, r, 0) }

func (s *Server) offerEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	o, err := s.offerSvc.Editable(r.Context(), actorFrom(r.Context()), id)
	if errors.Is(err, offer.ErrInvalidState) {
		s.flash(r, "offers.flash_state")
		http.Redirect(w, r, "/espace/offres", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, offerpage.FormView(s.offerForm(r, fmt.Sprintf("/espace/offres/%d/modifier", id), "offers.edit_title", offer.InputOf(o), pickerSearch{}, nil)))
}

func (s *Server) offerUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.offerSave(w, r, id)
}

func (s *Server) offerSubmit(w http.ResponseWriter, r *http.Request) {
	s.offerMove(w, r, s.offerSvc.Submit, "offers.flash_submitted")
}

func (s *Server) offerArchive(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != "1" {
		s.flash(r, "offers.flash_confirm")
		http.Redirect(w, r, "/espace/offres", http.StatusSeeOther)
		return
	}
	s.offerMove(w, r, s.offerSvc.Archive, "offers.flash_archived")
}

func (s *Server) offerMove(w http.ResponseWriter, r *http.Request, move func(context.Context, member.Actor, int64) error, flash string) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	err := move(r.Context(), actorFrom(r.Context()), id)
	switch {
	case err == nil:
		s.flash(r, flash)
	case errors.Is(err, offer.ErrInvalidState):
		s.flash(r, "offers.flash_state")
	default:
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, "/espace/offres", http.StatusSeeOther)
}

// offerShow is an offer's page: anyone for a listed offer (visitors without
// the SME's profile link), its SME and staff at any status.
func (s *Server) offerShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	o, err := s.offerSvc.Get(r.Context(), a, id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	p := s.page(r, "")
	p.Title = o.Title
	v := offerpage.Detail{Page: p, Title: o.Title, Org: o.OrgName, Summary: o.Summary, Description: o.Description,
		Badges: []string{l.T("offer.kind." + o.Kind)}}
	if a.SignedIn() {
		v.OrgURL = fmt.Sprintf("/entreprises/%d", o.OrgID)
	} else {
		v.Join, v.JoinLabel = l.T("showcase.join_text"), l.T("showcase.join")
	}
	if o.Status != offer.StatusPublished {
		v.Status = l.T("offer.status_line", "Status", s.statusText(l, o.Status))
	}
	if o.TRL != nil {
		v.Badges = append(v.Badges, l.T("search.trl_value", "Level", strconv.Itoa(int(*o.TRL))))
		v.Facts = append(v.Facts, components.Fact{Label: l.T("offer.trl"), Value: l.T("offer.trl." + strconv.Itoa(int(*o.TRL)))})
	}
	v.Facts = append(v.Facts, components.Fact{Label: l.T("offer.cpv"), Value: strings.Join(s.labels(l).CPVs(o.CPVCodes), " ; ")})
	v.Facts = append(v.Facts, components.Fact{Label: l.T("offer.places"), Value: s.labels(l).Places(o.Places)})
	if o.Keywords != "" {
		v.Facts = append(v.Facts, components.Fact{Label: l.T("offer.keywords"), Value: o.Keywords})
	}
	if o.PublishedAt != nil {
		v.Facts = append(v.Facts, components.Fact{Label: l.T("offer.published_on"), Value: l.Date(*o.PublishedAt)})
	}
	if o.Status == offer.StatusPublished {
		// For the SME's own figures: counted in memory, written in batches.
		s.indicators.OfferViewed(a, o.ID, o.OrgID)
	}
	s.render(w, r, http.StatusOK, offerpage.DetailView(v))
}
