package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/spreadsheet"
	"passerelle/internal/purchase"
	"passerelle/web/components"
	offerpage "passerelle/web/pages/offer"
)

// The buyer's side of purchase requests: its list, the form, submitting,
// closing, its steps on the SMEs' answers, the shortlist export and the
// answer to "what happened?".

// myRequests lists the buyer's requests with their status and answers.
func (s *Server) myRequests(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	list, total, err := s.purchases.Mine(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := offerpage.Mine{Page: s.page(r, "requests.mine_title"), Title: l.T("requests.mine_title"), Lead: l.T("requests.mine_lead"),
		NewURL: "/espace/demandes/nouvelle", NewLabel: l.T("requests.new"), Empty: l.T("requests.mine_empty"),
		Total: l.T("list.total", "Count", total), Pager: pager(l, r, page, total, purchase.PageSize)}
	for _, q := range list {
		row := offerpage.Row{Status: string(q.Status), Title: q.Title, URL: fmt.Sprintf("/espace/demandes/%d", q.ID),
			Badge: l.T("request.status." + string(q.Status)), BadgeKind: string(q.Status),
			Facts: []string{l.T("requests.deadline_on", "Date", l.Date(q.Deadline)), l.T("requests.answers", "Count", q.Answers, "New", q.New)}}
		if q.Status == purchase.StatusRejected && q.StatusReason != "" {
			row.Reason = l.T("offers.sent_back", "Reason", q.StatusReason)
		}
		base := fmt.Sprintf("/espace/demandes/%d", q.ID)
		if q.Status == purchase.StatusDraft || q.Status == purchase.StatusRejected || q.Status == purchase.StatusSubmitted {
			row.EditURL, row.EditLabel = base+"/modifier", l.T("offers.edit")
		}
		if q.Status == purchase.StatusDraft || q.Status == purchase.StatusRejected {
			row.Actions = append(row.Actions, offerpage.Action{URL: base + "/soumettre", Label: l.T("offers.submit"), TestID: "submit"})
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, offerpage.MineView(v))
}

func options(l *i18n.Localizer, prefix string, values []string, blank string) []components.Option {
	var out []components.Option
	if blank != "" {
		out = append(out, components.Option{Value: "", Label: l.T(blank)})
	}
	for _, v := range values {
		out = append(out, components.Option{Value: v, Label: l.T(prefix + v)})
	}
	return out
}

func checked(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// requestForm builds the request form's view: the offer form's layout and
// CPV picker, with the request's fields.
func (s *Server) requestForm(r *http.Request, action, titleKey string, in purchase.Input, ps pickerSearch, errs map[string]string) offerpage.Form {
	l := i18n.FromContext(r.Context())
	f := s.offerForm(r, action, titleKey, offer.Input{CPVCodes: in.CPVCodes}, ps, nil)
	f.Lead, f.SaveLabel, f.SubmitLabel = l.T("requests.form_lead"), l.T("offers.save_draft"), l.T("requests.save_submit")
	f.Before = []components.Field{
		{Name: "title", Label: l.T("request.title"), Type: "text", Value: in.Title, Required: true, MaxLength: purchase.MaxTitle},
		{Name: "description", Label: l.T("request.description"), Hint: l.T("request.description_hint"), Type: "textarea", Value: in.Description,
			Required: true, MaxLength: purchase.MaxDescription},
	}
	f.After = []components.Field{
		{Name: "budget_band", Label: l.T("request.budget_band"), Type: "select", Value: in.BudgetBand, Required: true,
			Options: options(l, "request.budget.", purchase.BudgetBands, "form.select")},
		{Name: "deadline", Label: l.T("request.deadline"), Hint: l.T("request.deadline_hint"), Type: "date", Value: in.Deadline, Required: true},
		{Name: "payment_days", Label: l.T("request.payment_days"), Hint: l.T("request.payment_days_hint"), Type: "text", Value: in.PaymentDays, MaxLength: 10},
		{Name: "min_turnover", Label: l.T("request.min_turnover"), Hint: l.T("request.min_turnover_hint"), Type: "text", Value: in.MinTurnover, MaxLength: 20},
		s.placesField(l, l.T("request.places_hint"), in.Regions, in.Departements, ps),
		{Name: "visibility", Label: l.T("request.visibility"), Hint: l.T("request.visibility_hint"), Type: "select", Value: in.Visibility,
			Required: true, Options: options(l, "request.visibility.", purchase.Visibilities, "")},
		{Name: "questions", Label: l.T("request.questions"), Hint: l.T("request.questions_hint"), Type: "textarea",
			Value: strings.Join(in.Questions, "\n")},
		{Name: "innovative", Label: l.T("request.innovative_label"), Hint: l.T("request.innovative_hint"), Type: "checkbox", Value: checked(in.Innovative)},
		{Name: "anonymous", Label: l.T("request.anonymous_label"), Hint: l.T("request.anonymous_hint"), Type: "checkbox", Value: checked(in.Anonymous)},
	}
	f.CPV.Hint = l.T("request.cpv_hint")
	if strings.HasSuffix(action, "/nouvelle") {
		f.After = append(f.After, onceField(r))
	}
	pickerErrors(l, &f, errs)
	// The coach reads what is written once there is something to read, or
	// when asked; it never blocks, so a failure only leaves it out.
	f.CoachLabel = l.T("coach.check")
	if ps.coach || strings.TrimSpace(in.Title) != "" {
		findings, err := s.purchases.Coach(r.Context(), actorFrom(r.Context()), in)
		if err != nil {
			s.logError(r, "coach", err)
		} else {
			f.Coach = coachView(l, findings, nil, nil)
		}
	}
	return f
}

func requestInput(r *http.Request) purchase.Input {
	return purchase.Input{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), CPVCodes: r.PostForm["cpv"],
		BudgetBand: r.PostFormValue("budget_band"), Deadline: r.PostFormValue("deadline"), Regions: r.PostForm["regions"],
		Departements: r.PostForm["departements"], Visibility: r.PostFormValue("visibility"),
		Questions:  strings.Split(strings.ReplaceAll(r.PostFormValue("questions"), "\r\n", "\n"), "\n"),
		Innovative: r.PostFormValue("innovative") == "1", Anonymous: r.PostFormValue("anonymous") == "1",
		PaymentDays: r.PostFormValue("payment_days"), MinTurnover: r.PostFormValue("min_turnover")}
}

func (s *Server) requestNew(w http.ResponseWriter, r *http.Request) {
	in := purchase.Input{Visibility: "all"}
	s.render(w, r, http.StatusOK, offerpage.FormView(s.requestForm(r, "/espace/demandes/nouvelle", "requests.new_title", in, pickerSearch{}, nil)))
}

// requestSave handles both request forms (new and edit).
func (s *Server) requestSave(w http.ResponseWriter, r *http.Request, id int64) {
	a := actorFrom(r.Context())
	in := requestInput(r)
	action, titleKey := "/espace/demandes/nouvelle", "requests.new_title"
	if id != 0 {
		action, titleKey = fmt.Sprintf("/espace/demandes/%d/modifier", id), "requests.edit_title"
	}
	s.savePicker(w, r, pickerForm{list: "/espace/demandes", invalidState: purchase.ErrInvalidState, flashState: "requests.flash_state",
		flashSubmit: "requests.flash_submitted", normalize: in.Normalize,
		show: func(status int, ps pickerSearch, errs map[string]string) {
			s.render(w, r, status, offerpage.FormView(s.requestForm(r, action, titleKey, in, ps, errs)))
		},
		save: func(submit bool) error {
			if id == 0 {
				_, err := s.purchases.Create(onceCtx(r), a, in, submit)
				return err
			}
			return s.purchases.Update(r.Context(), a, id, in, submit)
		}})
}

func (s *Server) requestCreate(w http.ResponseWriter, r *http.Request) { s.requestSave(w, r, 0) }

func (s *Server) requestUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.requestSave(w, r, id)
}

func (s *Server) requestEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	q, err := s.purchases.Editable(r.Context(), actorFrom(r.Context()), id)
	if errors.Is(err, purchase.ErrInvalidState) {
		s.flash(r, "requests.flash_state")
		http.Redirect(w, r, "/espace/demandes", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, offerpage.FormView(s.requestForm(r, fmt.Sprintf("/espace/demandes/%d/modifier", id), "requests.edit_title",
		purchase.InputOf(q), pickerSearch{}, nil)))
}

func (s *Server) requestSubmit(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	err := s.purchases.Submit(r.Context(), actorFrom(r.Context()), id)
	if _, invalid := fieldErrors(err); invalid {
		s.flash(r, "requests.flash_deadline")
		http.Redirect(w, r, fmt.Sprintf("/espace/demandes/%d/modifier", id), http.StatusSeeOther)
		return
	}
	s.afterStep(w, r, err, "requests.flash_submitted", "/espace/demandes")
}

// afterStep redirects with a confirmation, or a message when the state
// changed meanwhile.
func (s *Server) afterStep(w http.ResponseWriter, r *http.Request, err error, flash, to string) {
	s.redirectAfter(w, r, err, flash, to, map[error]string{purchase.ErrInvalidState: "requests.flash_state",
		purchase.ErrClosed: "requests.flash_closed"})
}

// redirectAfter redirects to to with a confirmation, or with the message
// of a known refusal (the state changed meanwhile, in another tab); any
// other error is a failure.
func (s *Server) redirectAfter(w http.ResponseWriter, r *http.Request, err error, flash, to string, known map[error]string) {
	if err != nil {
		flash = ""
		for e, msg := range known {
			if errors.Is(err, e) {
				flash = msg
			}
		}
		if flash == "" {
			s.failure(w, r, err)
			return
		}
	}
	s.flash(r, flash)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// requestClose ends an open request with its outcome.
func (s *Server) requestClose(w http.ResponseWriter, r *http.Request) {
	s.requestTool(w, r, "requests.flash_closed_ok", func(a member.Actor, id int64) error {
		return s.purchases.Close(r.Context(), a, id, r.PostFormValue("outcome"))
	})
}

// requestFollowUp answers "what happened?" from the request's page.
func (s *Server) requestFollowUp(w http.ResponseWriter, r *http.Request) {
	s.requestTool(w, r, "requests.flash_follow_up", func(a member.Actor, id int64) error {
		return s.purchases.FollowUp(r.Context(), a, id, r.PostFormValue("answer"), r.PostFormValue("counterfactual"))
	})
}

// requestFollowUpChange changes the answer to "what happened?": an
// explicit edit from the buyer's own page (the mail's link answers once).
func (s *Server) requestFollowUpChange(w http.ResponseWriter, r *http.Request) {
	s.requestTool(w, r, "requests.flash_follow_up_changed", func(a member.Actor, id int64) error {
		return s.purchases.ChangeFollowUp(r.Context(), a, id, r.PostFormValue("answer"), r.PostFormValue("counterfactual"))
	})
}

// requestTool runs one of the buyer's forms at the foot of its request's
// page: a refused choice shows the page again with 422.
func (s *Server) requestTool(w http.ResponseWriter, r *http.Request, flash string, do func(member.Actor, int64) error) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	err := do(actorFrom(r.Context()), id)
	if errs, ok := fieldErrors(err); ok {
		s.requestPage(w, r, id, http.StatusUnprocessableEntity, pageState{toolErrs: errs, tool: r.PostForm})
		return
	}
	s.afterStep(w, r, err, flash, fmt.Sprintf("/espace/demandes/%d", id))
}

// requestRespond is the buyer's step on an SME's answer.
func (s *Server) requestRespond(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	org, okOrg := pathID(r, "org")
	if !ok || !okOrg {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	suffix := "-" + strconv.FormatInt(org, 10)
	rp := purchase.Reply{Action: purchase.Action(chi.URLParam(r, "action")), Reason: r.PostFormValue("reason" + suffix),
		Amount: r.PostFormValue("amount" + suffix), Date: r.PostFormValue("date" + suffix)}
	err := s.purchases.Respond(r.Context(), actorFrom(r.Context()), id, org, rp)
	if errs, ok := fieldErrors(err); ok {
		s.requestPage(w, r, id, http.StatusUnprocessableEntity, pageState{replyOrg: org, reply: rp, replyErrs: errs})
		return
	}
	s.afterStep(w, r, err, "requests.flash_reply."+string(rp.Action), fmt.Sprintf("/espace/demandes/%d#answer-%d", id, org))
}

// requestExport is the shortlist as a CSV file a French spreadsheet opens.
func (s *Server) requestExport(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	_, kept, err := s.purchases.Shortlist(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	rows := [][]string{{l.T("csv.company"), l.T("csv.siren"), l.T("csv.departement"), l.T("csv.state"), l.T("csv.offer"),
		l.T("csv.message"), l.T("csv.answers"), l.T("csv.answered_at")}}
	for _, m := range kept {
		offer, answered := "", ""
		if m.OfferTitle != nil {
			offer = *m.OfferTitle
		}
		if m.AnsweredAt != nil {
			answered = l.Date(*m.AnsweredAt)
		}
		rows = append(rows, []string{m.OrgName, m.OrgSIREN, m.OrgDepartement, l.T("match.state." + string(m.State)), offer, m.Message,
			strings.Join(m.Answers, " | "), answered})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="selection-demande-%d.csv"`, id))
	if err := spreadsheet.WriteCSV(w, rows); err != nil {
		s.logError(r, "shortlist export", err)
	}
}
