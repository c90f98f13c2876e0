package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/present"
	"passerelle/internal/profile"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
	offerpage "passerelle/web/pages/offer"
	profilepage "passerelle/web/pages/profile"
)

func (s *Server) certItems(l *i18n.Localizer, certs []profile.Certification, deletable bool) []profilepage.Item {
	now := time.Now()
	var out []profilepage.Item
	for _, c := range certs {
		it := profilepage.Item{Title: c.Name, TestID: "certification"}
		if c.Issuer != "" {
			it.Facts = append(it.Facts, l.T("profile.issuer", "Issuer", c.Issuer))
		}
		switch {
		case c.ExpiresOn == nil:
			it.Facts = append(it.Facts, l.T("profile.no_expiry"))
		case c.Expired(now):
			it.Badge = l.T("profile.expired")
			it.Facts = append(it.Facts, l.T("profile.expired_on", "Date", l.Date(*c.ExpiresOn)))
		default:
			it.Facts = append(it.Facts, l.T("profile.valid_until", "Date", l.Date(*c.ExpiresOn)))
		}
		if deletable {
			it.Delete = &offerpage.Action{URL: fmt.Sprintf("/espace/profil/certifications/%d/supprimer", c.ID), Label: l.T("profile.delete"),
				Danger: true, Confirm: l.T("profile.delete_confirm"), TestID: fmt.Sprintf("delete-cert-%d", c.ID)}
		}
		out = append(out, it)
	}
	return out
}

func (s *Server) refItems(l *i18n.Localizer, refs []profile.Reference, deletable bool) []profilepage.Item {
	var out []profilepage.Item
	for _, rf := range refs {
		it := profilepage.Item{Title: rf.Object, TestID: "reference", Facts: []string{l.T("profile.client", "Client", rf.Client)}}
		it.Facts = append(it.Facts, s.labels(l).CPVs([]string{rf.CPV})...)
		if rf.AmountEUR != nil {
			it.Facts = append(it.Facts, l.T("money.excl_vat", "Amount", l.Money(*rf.AmountEUR)))
		}
		if rf.Year != nil {
			it.Facts = append(it.Facts, strconv.Itoa(int(*rf.Year)))
		}
		if rf.Source == "decp" {
			it.Facts = append(it.Facts, l.T("profile.source_decp"))
		}
		if deletable {
			it.Delete = &offerpage.Action{URL: fmt.Sprintf("/espace/profil/references/%d/supprimer", rf.ID), Label: l.T("profile.delete"),
				Danger: true, Confirm: l.T("profile.delete_confirm"), TestID: fmt.Sprintf("delete-ref-%d", rf.ID)}
		}
		out = append(out, it)
	}
	return out
}

// profileShow is an SME's page as members and staff see it.
func (s *Server) profileShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	p, err := s.profiles.Get(r.Context(), a, id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	offers, err := s.offerSvc.Listed(r.Context(), id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pg := s.page(r, "")
	pg.Title = p.LegalName
	v := profilepage.View{Page: pg, Title: p.LegalName, Lead: l.T("kind." + string(p.Kind)), About: p.Description, Facts: s.labels(l).OrgFacts(orgOf(p))}
	if a.OrgID == p.ID && a.IsSME() {
		v.EditURL, v.EditText = "/espace/profil", l.T("profile.edit")
	}
	offerSec := profilepage.Section{Title: l.T("profile.offers"), Empty: l.T("profile.offers_empty")}
	for _, o := range offers {
		offerSec.Items = append(offerSec.Items, profilepage.Item{Title: o.Title, URL: fmt.Sprintf("/offres/%d", o.ID), Facts: []string{o.Summary}, TestID: "profile-offer"})
	}
	v.Sections = []profilepage.Section{
		offerSec,
		{Title: l.T("profile.references"), Empty: l.T("profile.references_empty"), Items: s.refItems(l, p.References, false)},
		{Title: l.T("profile.certifications"), Empty: l.T("profile.certifications_empty"), Items: s.certItems(l, p.Certifications, false)},
	}
	s.render(w, r, http.StatusOK, profilepage.Show(v))
}

// profileForms are the editor's three forms; a failing one is passed in
// with its errors and input.
type profileForms struct{ profile, cert, ref *components.Form }

func (s *Server) profileEditPage(w http.ResponseWriter, r *http.Request, status int, f profileForms) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	p, err := s.profiles.Get(r.Context(), a, a.OrgID)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	if f.profile == nil {
		in := profile.Input{Description: p.Description, Website: p.Website}
		in.Regions, in.Departements = taxonomy.SplitPlaces(p.Places)
		form := s.profileForm(l, in, pickerSearch{})
		f.profile = &form
	}
	if f.cert == nil {
		form := s.certForm(l, profile.CertificationInput{})
		f.cert = &form
	}
	if f.ref == nil {
		form := s.refForm(l, profile.ReferenceInput{})
		f.ref = &form
	}
	importLabel := l.T("profile.import_link")
	if n, err := s.profiles.Proposals(r.Context(), actorFrom(r.Context())); err != nil {
		s.failure(w, r, err)
		return
	} else if n > 0 {
		importLabel = l.T("profile.import_proposed", "N", n)
	}
	v := profilepage.Edit{Page: s.page(r, "profile.edit_title"), Title: l.T("profile.edit_title"), Lead: l.T("profile.edit_lead"),
		ViewURL: fmt.Sprintf("/entreprises/%d", p.ID), ViewText: l.T("profile.view"), Profile: *f.profile,
		Sections: []profilepage.Section{
			{Title: l.T("profile.certifications"), Empty: l.T("profile.certifications_empty"), Items: s.certItems(l, p.Certifications, true), Form: f.cert},
			{Title: l.T("profile.references"), Empty: l.T("profile.references_empty"), Items: s.refItems(l, p.References, true), Form: f.ref,
				Link: &components.Option{Value: "/espace/profil/import", Label: importLabel}},
		}}
	s.render(w, r, status, profilepage.EditView(v))
}

func (s *Server) profileForm(l *i18n.Localizer, in profile.Input, ps pickerSearch) components.Form {
	return components.Form{Action: "/espace/profil", Submit: l.T("profile.save"), TestID: "profile-form", Fields: []components.Field{
		{Name: "description", Label: l.T("profile.description"), Type: "textarea", Value: in.Description, MaxLength: 2000},
		{Name: "website", Label: l.T("profile.website"), Type: "url", Value: in.Website, Hint: l.T("apply.website_hint")},
		s.placesField(l, l.T("profile.places_hint"), in.Regions, in.Departements, ps),
	}}
}

func (s *Server) certForm(l *i18n.Localizer, in profile.CertificationInput) components.Form {
	return components.Form{Action: "/espace/profil/certifications", Submit: l.T("profile.cert_add"), TestID: "cert-form", Fields: []components.Field{
		{Name: "cert_name", Label: l.T("profile.cert_name"), Type: "text", Value: in.Name, Required: true, MaxLength: 120, Hint: l.T("profile.cert_name_hint")},
		{Name: "cert_issuer", Label: l.T("profile.cert_issuer"), Type: "text", Value: in.Issuer, MaxLength: 120},
		{Name: "cert_expires", Label: l.T("profile.cert_expires"), Type: "date", Value: in.ExpiresOn, Hint: l.T("profile.cert_expires_hint")},
	}}
}

func (s *Server) refForm(l *i18n.Localizer, in profile.ReferenceInput) components.Form {
	return components.Form{Action: "/espace/profil/references", Submit: l.T("profile.ref_add"), TestID: "ref-form", Fields: []components.Field{
		{Name: "ref_client", Label: l.T("profile.ref_client"), Type: "text", Value: in.Client, Required: true, MaxLength: 200},
		{Name: "ref_object", Label: l.T("profile.ref_object"), Type: "textarea", Value: in.Object, Required: true, MaxLength: 1000},
		{Name: "ref_cpv", Label: l.T("profile.ref_cpv"), Type: "text", Value: in.CPV, Required: true, Hint: l.T("profile.ref_cpv_hint")},
		{Name: "ref_amount", Label: l.T("profile.ref_amount"), Type: "text", Value: in.Amount, Hint: l.T("profile.ref_amount_hint")},
		{Name: "ref_year", Label: l.T("profile.ref_year"), Type: "number", Value: in.Year},
	}}
}

func (s *Server) profileEdit(w http.ResponseWriter, r *http.Request) {
	s.profileEditPage(w, r, http.StatusOK, profileForms{})
}

// profileWrite runs one write; field errors re-render the editor with the
// failing form (status 422, input kept); success redirects with a flash.
func (s *Server) profileWrite(w http.ResponseWriter, r *http.Request, err error, failing func(errs map[string]string) profileForms, flash string) {
	if errs, ok := fieldErrors(err); ok {
		s.profileEditPage(w, r, http.StatusUnprocessableEntity, failing(errs))
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, flash)
	http.Redirect(w, r, "/espace/profil", http.StatusSeeOther)
}

func (s *Server) profileUpdate(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	_ = r.ParseForm()
	in := profile.Input{Description: r.PostFormValue("description"), Website: r.PostFormValue("website"),
		Regions: r.PostForm["regions"], Departements: r.PostForm["departements"]}
	ps := pickerSearch{place: r.PostFormValue("place_q")}
	if r.PostFormValue("action") == "place" { // the places' search: nothing saved yet
		f := s.profileForm(l, in, pickerSearch{place: ps.place, placeShown: true})
		s.profileEditPage(w, r, http.StatusOK, profileForms{profile: &f})
		return
	}
	err := s.profiles.Update(r.Context(), actorFrom(r.Context()), in)
	s.profileWrite(w, r, err, func(errs map[string]string) profileForms {
		ps.placeShown = ps.place != ""
		f := withErrors(l, s.profileForm(l, in, ps), errs)
		return profileForms{profile: &f}
	}, "profile.flash_saved")
}

func (s *Server) certAdd(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	in := profile.CertificationInput{Name: r.PostFormValue("cert_name"), Issuer: r.PostFormValue("cert_issuer"), ExpiresOn: r.PostFormValue("cert_expires")}
	err := s.profiles.AddCertification(r.Context(), actorFrom(r.Context()), in)
	s.profileWrite(w, r, err, func(errs map[string]string) profileForms {
		f := withErrors(l, s.certForm(l, in), errs)
		return profileForms{cert: &f}
	}, "profile.flash_cert_added")
}

func (s *Server) refAdd(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	in := profile.ReferenceInput{Client: r.PostFormValue("ref_client"), Object: r.PostFormValue("ref_object"), CPV: r.PostFormValue("ref_cpv"),
		Amount: r.PostFormValue("ref_amount"), Year: r.PostFormValue("ref_year")}
	err := s.profiles.AddReference(r.Context(), actorFrom(r.Context()), in)
	s.profileWrite(w, r, err, func(errs map[string]string) profileForms {
		f := withErrors(l, s.refForm(l, in), errs)
		return profileForms{ref: &f}
	}, "profile.flash_ref_added")
}

func (s *Server) profileDelete(del func(context.Context, member.Actor, int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := idParam(r)
		if !ok {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
		if r.PostFormValue("confirm") != "1" {
			s.flash(r, "offers.flash_confirm")
			http.Redirect(w, r, "/espace/profil", http.StatusSeeOther)
			return
		}
		s.profileWrite(w, r, del(r.Context(), actorFrom(r.Context()), id), nil, "profile.flash_deleted")
	}
}

// importShow lists the public contracts found for the SME's SIREN.
func (s *Server) importShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	awards, err := s.profiles.Awards(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := profilepage.Import{Page: s.page(r, "profile.import_title"), Title: l.T("profile.import_title"),
		Lead: l.T("profile.import_lead", "N", len(awards)), Empty: l.T("profile.import_empty"),
		Submit: l.T("profile.import_submit"), BackURL: "/espace/profil", Back: l.T("profile.back")}
	for _, aw := range awards {
		a := profilepage.Award{UID: aw.UID, Label: aw.Object, Imported: aw.Imported, Facts: []string{l.T("profile.client", "Client", aw.Buyer)}}
		a.Facts = append(a.Facts, s.labels(l).CPVs([]string{aw.CPV})...)
		if aw.AmountEUR > 0 {
			a.Facts = append(a.Facts, l.T("money.excl_vat", "Amount", l.Money(aw.AmountEUR)))
		}
		if aw.Year > 0 {
			a.Facts = append(a.Facts, strconv.Itoa(aw.Year))
		}
		switch {
		case aw.Imported:
			a.Note = l.T("profile.imported")
		case aw.Proposed:
			a.Note = l.T("profile.proposed")
		case aw.Damaged:
			a.Note = l.T("profile.damaged")
		}
		v.Awards = append(v.Awards, a)
	}
	s.render(w, r, http.StatusOK, profilepage.ImportView(v))
}

func (s *Server) importAwards(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	n, err := s.profiles.ImportAwards(r.Context(), actorFrom(r.Context()), r.PostForm["uid"])
	if err != nil {
		s.failure(w, r, err)
		return
	}
	if n == 0 {
		s.flash(r, "profile.flash_imported_none")
	} else {
		s.flash(r, "profile.flash_imported")
	}
	http.Redirect(w, r, "/espace/profil", http.StatusSeeOther)
}

// orgOf is what the presenter shows of a profile.
func orgOf(p profile.Profile) present.Org {
	return present.Org{SIREN: p.SIREN, Kind: string(p.Kind), NAFCode: p.NAFCode, HeadcountBand: p.HeadcountBand,
		Departement: p.Departement, Website: p.Website, Places: p.Places}
}
