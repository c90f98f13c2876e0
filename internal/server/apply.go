package server

import (
	"errors"
	"net/http"
	"strings"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/registers"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
	memberpages "passerelle/web/pages/member"
)

// applyForm builds the application form with the values typed so far.
func (s *Server) applyForm(l *i18n.Localizer, a member.Application) components.Form {
	kinds := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, k := range member.ApplicantKinds {
		kinds = append(kinds, components.Option{Value: string(k), Label: l.T("kind." + string(k))})
	}
	naf := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, n := range s.tax.NAFSubclasses() {
		naf = append(naf, components.Option{Value: n.Code, Label: s.labels(l).NAF(n.Code)})
	}
	bands := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, b := range s.tax.HeadcountBands() {
		bands = append(bands, components.Option{Value: b.Code, Label: l.T("apply.headcount", "Range", b.Label)})
	}
	depts := append([]components.Option{{Value: "", Label: l.T("form.select")}}, s.labels(l).DepartementOptions()...)
	return components.Form{
		Action: "/adhesion", Submit: l.T("apply.submit"), TestID: "apply-form",
		Fields: []components.Field{
			{Name: "siren", Label: l.T("field.siren"), Type: "text", Value: a.SIREN, Required: true, Hint: l.T("apply.siren_hint"), MaxLength: 20},
			{Name: "legal_name", Label: l.T("field.legal_name"), Type: "text", Value: a.LegalName, Required: true, Autocomplete: "organization", MaxLength: 200},
			{Name: "kind", Label: l.T("field.kind"), Type: "select", Value: a.Kind, Required: true, Options: kinds, Hint: l.T("apply.kind_hint")},
			{Name: "naf_code", Label: l.T("field.naf_code"), Type: "select", Value: a.NAFCode, Required: true, Options: naf},
			{Name: "headcount_band", Label: l.T("field.headcount_band"), Type: "select", Value: a.HeadcountBand, Required: true, Options: bands},
			{Name: "departement", Label: l.T("field.departement"), Type: "select", Value: a.Departement, Required: true, Options: depts},
			{Name: "website", Label: l.T("field.website"), Type: "url", Value: a.Website, Hint: l.T("apply.website_hint"), MaxLength: 300},
			{Name: "description", Label: l.T("field.description"), Type: "textarea", Value: a.Description, MaxLength: 2000},
			{Name: "name", Label: l.T("field.name"), Type: "text", Value: a.Name, Required: true, Autocomplete: "name", MaxLength: 120},
			{Name: "email", Label: l.T("field.email"), Type: "email", Value: a.Email, Required: true, Autocomplete: "email"},
			{Name: "password", Label: l.T("field.password"), Type: "password", Required: true, Autocomplete: "new-password", Hint: l.T("form.password_hint")},
		},
	}
}

func (s *Server) applyPage(w http.ResponseWriter, r *http.Request, status int, f components.Form, notice ...string) {
	s.applyPageWith(w, r, status, f, "", "", notice...)
}

// applyPageWith also says what the register lookup was given and its error.
func (s *Server) applyPageWith(w http.ResponseWriter, r *http.Request, status int, f components.Form, lookup, lookupErr string, notice ...string) {
	l := i18n.FromContext(r.Context())
	look := components.Form{Action: "/adhesion", Submit: l.T("apply.verify"), TestID: "siren-lookup", Fields: []components.Field{
		{Name: "verifier", Label: l.T("apply.lookup_label"), Type: "search", Value: lookup, Hint: l.T("apply.verify_hint"), MaxLength: 20, Error: lookupErr}}}
	f.Fields = append(f.Fields, onceField(r))
	s.render(w, r, status, memberpages.FormPageView(memberpages.FormPage{
		Page: s.page(r, "apply.title"), Title: l.T("apply.title"), Intro: l.T("apply.intro"), Form: f, Notice: notice, Lookup: &look,
		Links: []memberpages.Link{{Href: "/connexion", Label: l.T("apply.have_account")}},
	}))
}

// applyVerify is the form's first step, "check in the register" (a GET,
// so it works without JavaScript and the form's Enter key still sends
// the application): what SIRENE says of the SIREN fills the form, with a
// word on what it found. A name INSEE withholds, or a person's name, is
// never filled: the applicant types it.
func (s *Server) applyVerify(w http.ResponseWriter, r *http.Request, typed string) {
	l := i18n.FromContext(r.Context())
	a := member.Application{SIREN: typed}
	a.Normalize()
	if !taxonomy.ValidSIREN(a.SIREN) {
		key := "member.siren_checksum"
		if len(a.SIREN) != 9 || strings.Trim(a.SIREN, "0123456789") != "" {
			key = "member.siren_format"
		}
		s.applyPageWith(w, r, http.StatusUnprocessableEntity, s.applyForm(l, member.Application{}), typed, l.T(key))
		return
	}
	e, err := registers.Lookup(r.Context(), s.db, a.SIREN, registers.Reader{})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var notice []string
	if !e.Found {
		s.applyPageWith(w, r, http.StatusOK, s.applyForm(l, a), typed, "", l.T("apply.register_absent"))
		return
	}
	notice = append(notice, l.T("apply.register_found"))
	if e.Name != "" {
		a.LegalName = e.Name
	}
	if n, ok := s.tax.NAF(e.NAFCode); ok && n.Level == "sous_classe" {
		a.NAFCode = e.NAFCode
	}
	if _, ok := s.tax.HeadcountBand(e.HeadcountBand); ok {
		a.HeadcountBand = e.HeadcountBand
	}
	if _, ok := s.tax.Departement(e.Departement); ok {
		a.Departement = e.Departement
	}
	a.Kind = e.Kind()
	if e.Category != "" {
		notice = append(notice, l.T("apply.register_category", "Category", e.Category))
	} else {
		notice = append(notice, l.T("apply.register_no_category"))
	}
	switch {
	case e.Withheld:
		notice = append(notice, l.T("apply.register_withheld"))
	case e.Individual:
		notice = append(notice, l.T("apply.register_individual"))
	}
	if !e.Active {
		notice = append(notice, l.T("apply.register_ceased"))
	}
	s.applyPageWith(w, r, http.StatusOK, s.applyForm(l, a), typed, "", notice...)
}

func (s *Server) applyShow(w http.ResponseWriter, r *http.Request) {
	if siren := r.URL.Query().Get("verifier"); siren != "" {
		s.applyVerify(w, r, siren)
		return
	}
	s.applyPage(w, r, http.StatusOK, s.applyForm(i18n.FromContext(r.Context()), member.Application{}))
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := member.Application{
		SIREN: r.PostFormValue("siren"), LegalName: r.PostFormValue("legal_name"), Kind: r.PostFormValue("kind"),
		NAFCode: r.PostFormValue("naf_code"), HeadcountBand: r.PostFormValue("headcount_band"),
		Departement: r.PostFormValue("departement"), Website: r.PostFormValue("website"),
		Description: r.PostFormValue("description"), Name: r.PostFormValue("name"),
		Email: r.PostFormValue("email"), Password: r.PostFormValue("password"), Locale: l.Lang(),
	}
	_, err := s.members.Apply(onceCtx(r), a)
	a.Password = "" // never sent back
	if err != nil {
		errs, ok := fieldErrors(err)
		switch {
		case ok:
		case errors.Is(err, member.ErrSIRENTaken):
			errs = map[string]string{"siren": "member.siren_taken"}
		case errors.Is(err, member.ErrEmailTaken):
			errs = map[string]string{"email": "member.email_taken"}
		default:
			s.serverError(w, r, err)
			return
		}
		a.Normalize()
		s.applyPage(w, r, http.StatusUnprocessableEntity, withErrors(l, s.applyForm(l, a), errs))
		return
	}
	http.Redirect(w, r, "/adhesion/merci", http.StatusSeeOther)
}

func (s *Server) applyThanks(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	s.render(w, r, http.StatusOK, memberpages.MessageView(memberpages.Message{
		Page: s.page(r, "apply.thanks_title"), Title: l.T("apply.thanks_title"),
		Lines:  []string{l.T("apply.thanks_1"), l.T("apply.thanks_2")},
		Action: memberpages.Link{Href: "/", Label: l.T("error.back_home")},
	}))
}
