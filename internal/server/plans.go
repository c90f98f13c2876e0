package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"passerelle/internal/plan"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// The yearly progress plans: the buyer's own (/espace/plan), a plan's
// page for every reader it has (/plans/{id}), the year's list (/plans).

// planForms is what a plan page shows again after an error: the plan
// form as typed, the self-assessment, a comment, with their errors.
type planForms struct {
	in        *plan.Input
	assess    string
	comment   string
	errs      map[string]string
	formError string // which form failed: plan, assess, comment
}

// planYearOf is the year asked (this year ± 1), else this one.
func (s *Server) planYearOf(r *http.Request, value string) int {
	now := s.plans.Now().Year()
	if y, ok := intIn(value, int64(now-1), int64(now+1)); ok {
		return int(y)
	}
	return now
}

func (s *Server) myPlan(w http.ResponseWriter, r *http.Request) {
	s.myPlanPage(w, r, http.StatusOK, s.planYearOf(r, r.URL.Query().Get("annee")), planForms{})
}

// myPlanPage is the buyer's plan for a year: its measures and comments,
// the form while it may change it, publishing and the self-assessment.
func (s *Server) myPlanPage(w http.ResponseWriter, r *http.Request, status, year int, f planForms) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	v, err := s.plans.Mine(r.Context(), a, year)
	exists := err == nil
	if err != nil && !errors.Is(err, plan.ErrNotFound) {
		s.failure(w, r, err)
		return
	}
	rep := indicatorpage.Report{Page: s.page(r, "plan.title"), Title: l.T("plan.title_year", "Year", year), Lead: l.T("plan.lead"), TestID: "my-plan"}
	rep.Page.Title = rep.Title
	var years []components.Option
	for y := s.plans.Now().Year() + 1; y >= s.plans.Now().Year()-1; y-- {
		years = append(years, components.Option{Value: strconv.Itoa(y), Label: strconv.Itoa(y)})
	}
	rep.Filter = &components.Form{Action: "/espace/plan", Submit: l.T("observatory.show_year"),
		Fields: []components.Field{{Name: "annee", Label: l.T("observatory.year"), Type: "select", Value: strconv.Itoa(year), Options: years}}}
	if exists {
		rep.Sections = append(rep.Sections, planSections(l, v)...)
	}
	can := func(act plan.Action) bool { return exists && slices.Contains(v.Actions, act) }
	if !exists || can(plan.ActEdit) {
		in := plan.Input{Targets: map[plan.Indicator]string{}}
		if exists {
			in.Referent, in.Public = v.Plan.Referent, v.Plan.Public
			for _, c := range v.Plan.Commitments {
				in.Targets[c.Indicator] = decimal(l, c.Target)
			}
		}
		if f.in != nil {
			in = *f.in
		}
		errs := map[string]string(nil)
		if f.formError == "plan" {
			errs = f.errs
		}
		rep.Sections = append(rep.Sections, indicatorpage.Section{ID: "ecrire", Title: l.T("plan.form_title"), Lead: l.T("plan.form_lead"),
			Forms: []components.Form{planForm(l, year, in, errs)}})
	}
	if can(plan.ActPublish) {
		rep.Sections = append(rep.Sections, indicatorpage.Section{ID: "publier", Title: l.T("plan.publish_title"), Lead: l.T("plan.publish_lead"),
			Forms: []components.Form{{Action: fmt.Sprintf("/espace/plan/%d/publier", v.Plan.ID), Submit: l.T("plan.publish"), TestID: "plan-publish",
				Fields: []components.Field{yearField(year)}}}})
	}
	if can(plan.ActAssess) {
		text := v.Plan.SelfAssessment
		if f.formError == "assess" {
			text = f.assess
		}
		form := components.Form{Action: fmt.Sprintf("/espace/plan/%d/bilan", v.Plan.ID), Submit: l.T("plan.assess"), TestID: "plan-assess",
			Fields: []components.Field{yearField(year), {Name: "self_assessment", Label: l.T("plan.self_assessment"), Hint: l.T("plan.self_assessment_hint"),
				Type: "textarea", Value: text, Required: true, MaxLength: plan.MaxSelfAssessment}}}
		if f.formError == "assess" {
			form = withErrors(l, form, f.errs)
		}
		rep.Sections = append(rep.Sections, indicatorpage.Section{ID: "bilan-ecrire", Title: l.T("plan.assess_form_title"), Forms: []components.Form{form}})
	}
	s.render(w, r, status, indicatorpage.ReportView(rep))
}

// yearField carries the plan's year in its forms, so that the page after
// a step is that year's (a forged year only shows another of the
// account's own years).
func yearField(year int) components.Field {
	return components.Field{Name: "annee", Type: "hidden", Value: strconv.Itoa(year)}
}

// planForm is the plan's form: a target per indicator, the referent,
// public or not.
func planForm(l *i18n.Localizer, year int, in plan.Input, errs map[string]string) components.Form {
	f := components.Form{Action: "/espace/plan", Submit: l.T("plan.save"), TestID: "plan-form",
		Fields: []components.Field{yearField(year)}}
	for _, ind := range plan.Indicators {
		if ind == plan.Referent {
			continue
		}
		f.Fields = append(f.Fields, components.Field{Name: "target_" + string(ind), Label: l.T("plan.target." + string(ind)),
			Hint: l.T("plan.hint." + string(ind)), Type: "text", Value: in.Targets[ind], MaxLength: 12})
	}
	f.Fields = append(f.Fields,
		components.Field{Name: "referent", Label: l.T("plan.referent"), Hint: l.T("plan.referent_hint"), Type: "text", Value: in.Referent, MaxLength: plan.MaxReferent},
		components.Field{Name: "public", Label: l.T("plan.public"), Hint: l.T("plan.public_hint"), Type: "checkbox", Value: checked(in.Public)})
	return withErrors(l, f, errs)
}

// planSections are a plan as every reader reads it: where it stands, its
// commitments measured, the self-assessment, the comments (with the
// reader's forms there: comment, close).
func planSections(l *i18n.Localizer, v plan.View, commentForms ...components.Form) []indicatorpage.Section {
	p := v.Plan
	state := indicatorpage.Section{ID: "etat", Title: l.T("plan.state_title"), Facts: []components.Fact{
		{Label: l.T("plan.account"), Value: p.OrgName},
		{Label: l.T("plan.status"), Value: l.T("plan.status." + string(p.Status))},
		{Label: l.T("plan.visibility"), Value: l.T(map[bool]string{true: "plan.is_public", false: "plan.is_private"}[p.Public])},
		{Label: l.T("plan.versions"), Value: l.Int(int64(v.Versions))},
	}}
	if p.Referent != "" {
		state.Facts = append(state.Facts, components.Fact{Label: l.T("plan.referent"), Value: p.Referent})
	}
	measures := indicatorpage.Section{ID: "engagements", Title: l.T("plan.commitments_title"), Lead: l.T("plan.commitments_lead"),
		Empty: l.T("plan.no_commitments"), Table: &indicatorpage.Table{Caption: l.T("plan.commitments_title"), TestID: "plan-measures",
			Headers: []string{l.T("plan.col.indicator"), l.T("plan.col.target"), l.T("plan.col.measured"), l.T("plan.col.source"), l.T("plan.col.outcome")}}}
	for _, m := range v.Measures {
		measured, target := l.T("plan.unmeasured"), planValue(l, m.Indicator, m.Target)
		if m.Value != nil {
			measured = planValue(l, m.Indicator, *m.Value)
		}
		source := ""
		if m.Source != "" {
			source = l.T("plan.source." + m.Source)
		}
		measures.Table.Rows = append(measures.Table.Rows, []string{l.T("plan.target." + string(m.Indicator)), target, measured, source,
			l.T("plan.outcome." + string(m.Outcome))})
	}
	assessment := indicatorpage.Section{ID: "bilan", Title: l.T("plan.assess_title"), Lead: p.SelfAssessment, Empty: l.T("plan.no_assessment")}
	comments := indicatorpage.Section{ID: "commentaires", Title: l.T("plan.comments_title"), Empty: l.T("plan.no_comments"), Forms: commentForms,
		Table: &indicatorpage.Table{Caption: l.T("plan.comments_title"), TestID: "plan-comments",
			Headers: []string{l.T("plan.col.author"), l.T("plan.col.date"), l.T("plan.col.comment")}}}
	for _, c := range v.Comments {
		author := l.T("plan.committee_sme")
		if c.Staff {
			author = l.T("plan.staff_author", "Name", c.AuthorName)
		}
		comments.Table.Rows = append(comments.Table.Rows, []string{author, l.Date(c.CreatedAt), c.Body})
	}
	return []indicatorpage.Section{state, measures, assessment, comments}
}

// planValue writes a target or a measure in its indicator's unit.
func planValue(l *i18n.Localizer, ind plan.Indicator, v float64) string {
	switch ind {
	case plan.PMEShare, plan.ETIShare, plan.OnTime:
		return l.Percent(v / 100)
	case plan.PaymentDays:
		return l.T("plan.days", "N", decimal(l, v))
	case plan.Barometer:
		return l.T("plan.mark", "N", decimal(l, v))
	case plan.Referent:
		return l.T(map[bool]string{true: "plan.named", false: "plan.not_named"}[v >= 1])
	}
	return l.Int(int64(v))
}

// planInput reads the plan form.
func planInput(r *http.Request) plan.Input {
	in := plan.Input{Targets: map[plan.Indicator]string{}, Referent: r.PostFormValue("referent"), Public: r.PostFormValue("public") == "1"}
	for _, ind := range plan.Indicators {
		in.Targets[ind] = r.PostFormValue("target_" + string(ind))
	}
	return in
}

// planSave writes the buyer's plan for the year posted.
func (s *Server) planSave(w http.ResponseWriter, r *http.Request) {
	year := s.planYearOf(r, r.PostFormValue("annee"))
	in := planInput(r)
	_, err := s.plans.Save(r.Context(), actorFrom(r.Context()), year, in)
	if errs, ok := fieldErrors(err); ok {
		s.myPlanPage(w, r, http.StatusUnprocessableEntity, year, planForms{in: &in, errs: errs, formError: "plan"})
		return
	}
	s.planStep(w, r, err, "plan.flash_saved", fmt.Sprintf("/espace/plan?annee=%d", year))
}

// planPublish sets the buyer's plan for the year.
func (s *Server) planPublish(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	err := s.plans.Publish(r.Context(), actorFrom(r.Context()), id)
	if _, invalid := fieldErrors(err); invalid {
		s.flash(r, "plan.flash_empty")
		err = nil
	}
	s.planStep(w, r, err, "plan.flash_published", "/espace/plan?annee="+strconv.Itoa(s.planYearOf(r, r.PostFormValue("annee"))))
}

// planAssess writes the buyer's self-assessment.
func (s *Server) planAssess(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	text, year := r.PostFormValue("self_assessment"), s.planYearOf(r, r.PostFormValue("annee"))
	err := s.plans.Assess(r.Context(), actorFrom(r.Context()), id, text)
	if errs, ok := fieldErrors(err); ok {
		s.myPlanPage(w, r, http.StatusUnprocessableEntity, year, planForms{assess: text, errs: errs, formError: "assess"})
		return
	}
	s.planStep(w, r, err, "plan.flash_assessed", "/espace/plan?annee="+strconv.Itoa(year))
}

// planStep redirects with a confirmation, or says the plan changed meanwhile.
func (s *Server) planStep(w http.ResponseWriter, r *http.Request, err error, flash, to string) {
	s.redirectAfter(w, r, err, flash, to, map[error]string{plan.ErrInvalidState: "plan.flash_state"})
}

func (s *Server) planShow(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.planPage(w, r, http.StatusOK, id, planForms{})
}

// planPage is a plan for any reader it has: staff and the committee
// comment its self-assessment, staff close it.
func (s *Server) planPage(w http.ResponseWriter, r *http.Request, status int, id int64, f planForms) {
	l := i18n.FromContext(r.Context())
	v, err := s.plans.Get(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	title := l.T("plan.title_of", "Org", v.Plan.OrgName, "Year", v.Plan.Year)
	var forms []components.Form
	if slices.Contains(v.Actions, plan.ActComment) {
		hint := "plan.comment_hint.sme"
		if actorFrom(r.Context()).IsStaff() {
			hint = "plan.comment_hint.staff"
		}
		forms = append(forms, withErrors(l, components.Form{Action: fmt.Sprintf("/plans/%d/commentaires", id), Submit: l.T("plan.comment_submit"),
			TestID: "plan-comment", Fields: []components.Field{{Name: "comment", Label: l.T("plan.comment"), Hint: l.T(hint),
				Type: "textarea", Value: f.comment, Required: true, MaxLength: plan.MaxComment}}}, f.errs))
	}
	if slices.Contains(v.Actions, plan.ActClose) {
		forms = append(forms, components.Form{Action: fmt.Sprintf("/plans/%d/cloturer", id), Submit: l.T("plan.close"), TestID: "plan-close", Danger: true})
	}
	rep := indicatorpage.Report{Page: s.page(r, ""), Title: title, Lead: l.T("plan.page_lead"), TestID: "plan", Sections: planSections(l, v, forms...)}
	rep.Page.Title = title
	s.render(w, r, status, indicatorpage.ReportView(rep))
}

// planComment adds a comment on the self-assessment.
func (s *Server) planComment(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	body := r.PostFormValue("comment")
	err := s.plans.Comment(r.Context(), actorFrom(r.Context()), id, body)
	if errs, ok := fieldErrors(err); ok {
		s.planPage(w, r, http.StatusUnprocessableEntity, id, planForms{comment: body, errs: errs})
		return
	}
	s.planStep(w, r, err, "plan.flash_commented", fmt.Sprintf("/plans/%d#commentaires", id))
}

// planClose ends a commented plan (staff).
func (s *Server) planClose(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.planStep(w, r, s.plans.Close(r.Context(), actorFrom(r.Context()), id), "plan.flash_closed", fmt.Sprintf("/plans/%d", id))
}

// plansList is the year's plans the reader may read, with their
// outcomes; staff also invite the SMEs of the year's committee.
func (s *Server) plansList(w http.ResponseWriter, r *http.Request) {
	s.plansListPage(w, r, http.StatusOK, s.planYearOf(r, r.URL.Query().Get("annee")), "", nil)
}

func (s *Server) plansListPage(w http.ResponseWriter, r *http.Request, status, year int, siren string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	list, err := s.plans.List(r.Context(), a, year)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	rep := indicatorpage.Report{Page: s.page(r, "plans.title"), Title: l.T("plans.title_year", "Year", year), Lead: l.T("plans.lead"), TestID: "plans"}
	rep.Page.Title = rep.Title
	sec := indicatorpage.Section{ID: "plans", Title: l.T("plans.list_title"), Empty: l.T("plans.empty"),
		Table: &indicatorpage.Table{Caption: l.T("plans.list_title"), TestID: "plans-table", Headers: []string{l.T("plan.account"),
			l.T("plan.status"), l.T("plan.outcome.met"), l.T("plan.outcome.missed"), l.T("plan.outcome.unmeasurable")}}}
	for _, p := range list {
		sec.Table.Rows = append(sec.Table.Rows, []string{p.OrgName, l.T("plan.status." + string(p.Status)),
			l.Int(int64(p.Counts[plan.Met])), l.Int(int64(p.Counts[plan.Missed])), l.Int(int64(p.Counts[plan.Unmeasurable]))})
		sec.Links = append(sec.Links, indicatorpage.Link{Href: fmt.Sprintf("/plans/%d", p.ID), Label: l.T("plan.title_of", "Org", p.OrgName, "Year", p.Year),
			TestID: "plan-link"})
	}
	rep.Sections = append(rep.Sections, sec)
	if a.IsStaff() {
		form := components.Form{Action: "/plans/comite", Submit: l.T("plans.invite"), TestID: "plans-invite",
			Fields: []components.Field{{Name: "annee", Type: "hidden", Value: strconv.Itoa(year)},
				{Name: "siren", Label: l.T("plans.siren"), Hint: l.T("plans.siren_hint"), Type: "text", Value: siren, Required: true, MaxLength: 11}}}
		rep.Sections = append(rep.Sections, indicatorpage.Section{ID: "comite", Title: l.T("plans.committee_title"), Lead: l.T("plans.committee_lead"),
			Forms: []components.Form{withErrors(l, form, errs)}})
	}
	s.render(w, r, status, indicatorpage.ReportView(rep))
}

// plansInvite adds a member SME to the year's committee (staff).
func (s *Server) plansInvite(w http.ResponseWriter, r *http.Request) {
	year := s.planYearOf(r, r.PostFormValue("annee"))
	siren := r.PostFormValue("siren")
	err := s.plans.Invite(r.Context(), actorFrom(r.Context()), year, siren)
	if errs, ok := fieldErrors(err); ok {
		s.plansListPage(w, r, http.StatusUnprocessableEntity, year, siren, errs)
		return
	}
	s.planStep(w, r, err, "plans.flash_invited", fmt.Sprintf("/plans?annee=%d", year))
}
