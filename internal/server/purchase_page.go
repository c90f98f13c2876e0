package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"passerelle/internal/indicator"
	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/present"
	"passerelle/internal/purchase"
	"passerelle/web/components"
	requestpage "passerelle/web/pages/purchase"
)

// pageState is what a request's page re-renders after a refused form:
// the values typed and the errors by field.
type pageState struct {
	interest     purchase.Interest
	decline      purchase.Decline
	interestErrs map[string]string
	declineErrs  map[string]string
	replyOrg     int64
	reply        purchase.Reply
	replyErrs    map[string]string
	toolErrs     map[string]string
	tool         url.Values // what the buyer chose in the refused tool form
	once         string     // the interest form's one-time token
}

// requestShow is a request's page for its buyer, an SME it is visible to,
// or staff.
func (s *Server) requestShow(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.requestPage(w, r, id, http.StatusOK, pageState{})
}

func (s *Server) lifecycle(l *i18n.Localizer, st purchase.State, visited []purchase.State) components.Lifecycle {
	lc := components.Lifecycle{Label: l.T("match.lifecycle")}
	for _, x := range purchase.Lifecycle(st, visited...) {
		lc.Steps = append(lc.Steps, components.Step{Code: string(x.State), Label: l.T("match.state." + string(x.State)), Done: x.Done, Current: x.Current})
	}
	return lc
}

func (s *Server) requestPage(w http.ResponseWriter, r *http.Request, id int64, status int, st pageState) {
	l := i18n.FromContext(r.Context())
	st.once = once.Of(r.PostFormValue(once.Field))
	a := actorFrom(r.Context())
	p, err := s.purchases.Get(r.Context(), a, id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	pg := s.page(r, "")
	pg.Title = p.Title
	v := requestpage.Detail{Page: pg, Title: p.Title, Description: p.Description, QuestionsTitle: l.T("request.questions_title"),
		Questions: p.Questions}
	switch {
	case p.BuyerHidden:
		v.Buyer = l.T("request.anonymous_buyer")
	default:
		// Named, not linked: a large account has no public page (the
		// directory shows SMEs), so a link would answer 404.
		v.Buyer = p.OrgName
	}
	if p.Innovative {
		v.Badges = append(v.Badges, l.T("request.innovative_badge"))
	}
	v.Status = l.T("request.status_line", "Status", l.T("request.status."+string(p.Status)))
	if p.Outcome != nil {
		v.Status += " — " + l.T("request.outcome."+*p.Outcome)
	}
	if p.Status == purchase.StatusRejected && p.StatusReason != "" {
		v.Status += " — " + l.T("offers.sent_back", "Reason", p.StatusReason)
	}
	lab := s.labels(l)
	v.Facts = []components.Fact{
		{Label: l.T("offer.cpv"), Value: strings.Join(lab.CPVs(p.CPVCodes), " ; ")},
		{Label: l.T("request.budget_band"), Value: l.T("request.budget." + p.BudgetBand)},
		{Label: l.T("request.deadline"), Value: l.Date(p.Deadline)},
		{Label: l.T("offer.places"), Value: lab.Places(p.Places)},
		{Label: l.T("request.visibility"), Value: l.T("request.visibility." + p.Visibility)},
	}
	if p.PaymentDays != nil {
		v.Facts = append(v.Facts, components.Fact{Label: l.T("request.payment_days_label"), Value: l.T("request.days", "Count", *p.PaymentDays)})
	}
	if p.MinTurnover != nil {
		v.Facts = append(v.Facts, components.Fact{Label: l.T("request.min_turnover_label"), Value: l.Money(*p.MinTurnover)})
	}
	if p.PublishedAt != nil {
		v.Facts = append(v.Facts, components.Fact{Label: l.T("request.published_on"), Value: l.Date(*p.PublishedAt)})
	}
	switch {
	case a.IsSME():
		reputation(l, &v, p)
		s.smeSide(l, &v, p, st)
	case p.Mine || a.IsStaff():
		v.Coach = requestCoach(l, p)
		s.matchesSide(l, a, &v, p)
		s.buyerSide(l, a, &v, p, st)
	}
	s.render(w, r, status, requestpage.DetailView(v))
}

// reputation is what the SME reads of the buyer as it answers: its
// latest declared payment figures and barometer scores. An anonymous
// buyer's would name it, so they wait until it accepts the SME.
func reputation(l *i18n.Localizer, v *requestpage.Detail, p purchase.Page) {
	v.ReputationTitle = l.T("reputation.title")
	if p.BuyerHidden {
		v.ReputationNote = l.T("reputation.hidden")
		return
	}
	rep := p.Reputation
	if rep == nil {
		v.ReputationNote = l.T("reputation.none")
		return
	}
	if rep.PaymentYear != 0 {
		v.Reputation = append(v.Reputation,
			components.Fact{Label: l.T("reputation.payment_days", "Year", rep.PaymentYear), Value: l.T("reputation.days", "Count", decimal(l, rep.PaymentDays))},
			components.Fact{Label: l.T("reputation.on_time", "Year", rep.PaymentYear), Value: l.Percent(rep.OnTime / 100)})
	}
	if sc := rep.Score; sc != nil {
		for i, c := range indicator.Criteria {
			v.Reputation = append(v.Reputation, components.Fact{Label: l.T("reputation.criterion", "Criterion", l.T("indicator.criterion."+c), "Year", sc.Year),
				Value: l.T("reputation.score", "Score", decimal(l, sc.Means[i]), "Count", sc.Answers)})
		}
	}
	if rep.Empty() {
		v.ReputationNote = l.T("reputation.none")
	}
}

// smeSide is what the SME reads and may do: its line, and the two answers
// while the request takes them.
func (s *Server) smeSide(l *i18n.Localizer, v *requestpage.Detail, p purchase.Page, st pageState) {
	state, visited := purchase.StateSuggested, []purchase.State(nil)
	if p.Match != nil {
		state, visited = p.Match.State, p.Match.Visited
	}
	lc := s.lifecycle(l, state, visited)
	v.Lifecycle = &lc
	v.Explanation = s.smeExplanation(l, p)
	if p.Match != nil && p.Match.State == purchase.StateDeclined && p.Match.BuyerReason != "" {
		v.Reason = l.T("match.buyer_reason", "Reason", p.Match.BuyerReason)
	}
	if p.Match != nil && p.Match.State.Reveals() {
		v.Links = append(v.Links, requestpage.Link{URL: fmt.Sprintf("/demandes/%d/echanges/%d", p.ID, p.Match.OrgID),
			Label: l.T("match.open_conversation"), TestID: "open-conversation"})
	}
	unanswered := p.Match == nil || p.Match.AnsweredAt == nil
	switch {
	case p.TooLate:
		v.Notice = l.T("request.takes_no_answer")
		return
	case state == purchase.StateNotInterested:
		v.Notice = l.T("match.you_declined", "Reason", l.T("request.reason."+p.Match.SMEReason))
	case state.Answered() && !unanswered:
		v.Notice = l.T("match.you_answered", "Date", l.Date(*p.Match.AnsweredAt))
	case state == purchase.StateShortlisted:
		v.Notice = l.T("match.shortlisted_first")
	}
	if slices.Contains(p.Actions, purchase.ActInterest) {
		v.Forms = append(v.Forms, interestForm(l, fmt.Sprintf("/demandes/%d/interet", p.ID), st.once, p, st.interest, st.interestErrs))
	}
	if slices.Contains(p.Actions, purchase.ActNotInterested) {
		v.Forms = append(v.Forms, declineForm(l, fmt.Sprintf("/demandes/%d/pas-interesse", p.ID), st.decline, st.declineErrs))
	}
}

// smeExplanation is why the request fits the SME, and, while it may still
// answer (the lifecycle's table says so), what would raise its rank there
// (advice with the form for each).
func (s *Server) smeExplanation(l *i18n.Localizer, p purchase.Page) components.Explanation {
	lab := s.labels(l)
	var e components.Explanation
	var raw []byte
	if p.Match != nil && p.Match.Matched {
		raw = p.Match.Reasons
		e = lab.Explain(raw, present.SME)
	}
	if !slices.Contains(p.Actions, purchase.ActInterest) {
		return e
	}
	own := make([]matching.OwnOffer, len(p.Offers))
	for i, o := range p.Offers {
		own[i] = matching.OwnOffer{ID: o.ID, Title: o.Title, CPV: o.CPV, Places: o.Places, TRL: o.TRL}
	}
	advice := matching.Advise(matching.ParseFacts(raw), matching.RequestFor(p.Request, "", s.tax), own, s.tax)
	e.AdviceTitle, e.AdviceLead, e.Advice = l.T("match.advice_title"), l.T("match.advice_lead"), lab.Advice(advice)
	return e
}

func interestForm(l *i18n.Localizer, action, token string, p purchase.Page, in purchase.Interest, errs map[string]string) components.Form {
	f := components.Form{Action: action, Submit: l.T("match.interest_submit"), TestID: "interest-form",
		Fields: []components.Field{{Name: "message", Label: l.T("match.message"), Hint: l.T("match.message_hint"), Type: "textarea",
			Value: in.Message, Required: true, MaxLength: purchase.MaxMessage}}}
	for i, q := range p.Questions {
		val := ""
		if i < len(in.Answers) {
			val = in.Answers[i]
		}
		f.Fields = append(f.Fields, components.Field{Name: "answer" + strconv.Itoa(i), Label: q, Type: "textarea", Value: val,
			Required: true, MaxLength: purchase.MaxAnswer})
	}
	if len(p.Offers) > 0 {
		opts := []components.Option{{Value: "", Label: l.T("match.offer_none")}}
		for _, o := range p.Offers {
			opts = append(opts, components.Option{Value: strconv.FormatInt(o.ID, 10), Label: o.Title})
		}
		f.Fields = append(f.Fields, components.Field{Name: "offer", Label: l.T("match.offer"), Type: "select", Value: in.OfferID, Options: opts})
	}
	f.Fields = append(f.Fields, components.Field{Name: once.Field, Type: "hidden", Value: token})
	return withAllErrors(l, f, errs)
}

func declineForm(l *i18n.Localizer, action string, d purchase.Decline, errs map[string]string) components.Form {
	f := components.Form{Action: action, Submit: l.T("match.decline_submit"), TestID: "not-interested-form",
		Fields: []components.Field{
			{Name: "reason", Label: l.T("match.decline_reason"), Type: "select", Value: d.Reason, Required: true,
				Options: options(l, "request.reason.", purchase.NotInterestedReasons, "form.select")},
			{Name: "text", Label: l.T("match.decline_text"), Hint: l.T("match.decline_text_hint"), Type: "textarea", Value: d.Text,
				MaxLength: purchase.MaxReason},
		}}
	return withErrors(l, f, errs)
}

// buyerSide lists the answers with the buyer's steps (staff read them).
func (s *Server) buyerSide(l *i18n.Localizer, a member.Actor, v *requestpage.Detail, p purchase.Page, st pageState) {
	v.AnswersTitle, v.AnswersEmpty, v.DeclinedTitle = l.T("request.answers_title"), l.T("request.answers_empty"), l.T("request.not_interested_title")
	base := fmt.Sprintf("/espace/demandes/%d", p.ID)
	for _, m := range p.Answers {
		ans := requestpage.Answer{Anchor: fmt.Sprintf("answer-%d", m.OrgID), TestID: "answer", OrgName: m.OrgName, OrgURL: fmt.Sprintf("/entreprises/%d", m.OrgID), State: string(m.State),
			Lifecycle: s.lifecycle(l, m.State, m.Visited), Message: m.Message}
		if m.AnsweredAt != nil {
			// Saying "not interested" is no answer to the request.
			label := "match.answered_on"
			if m.State == purchase.StateNotInterested {
				label = "match.not_interested_on"
			}
			ans.Facts = append(ans.Facts, components.Fact{Label: l.T(label), Value: l.Date(*m.AnsweredAt)})
		}
		if m.OfferTitle != nil && m.OfferID != nil {
			ans.Links = append(ans.Links, requestpage.Link{URL: fmt.Sprintf("/offres/%d", *m.OfferID), Label: l.T("match.offer_link", "Title", *m.OfferTitle)})
		}
		if m.ContractAmount != nil && m.ContractDate != nil {
			ans.Facts = append(ans.Facts, components.Fact{Label: l.T("match.contract"), Value: l.T("match.contract_value",
				"Amount", l.Money(*m.ContractAmount), "Date", l.Date(*m.ContractDate))})
		}
		for i, q := range p.Questions {
			if i < len(m.Answers) {
				ans.QA = append(ans.QA, components.Fact{Label: q, Value: m.Answers[i]})
			}
		}
		if m.State == purchase.StateNotInterested {
			ans.Reason = l.T("match.sme_reason", "Reason", l.T("request.reason."+m.SMEReason))
			if m.SMEReasonText != "" {
				ans.Reason += " — " + m.SMEReasonText
			}
			v.Declined = append(v.Declined, ans)
			continue
		}
		if m.State == purchase.StateDeclined && m.BuyerReason != "" {
			ans.Reason = l.T("match.your_reason", "Reason", m.BuyerReason)
		}
		if m.State.Reveals() && (p.Mine || m.Reported) {
			label := l.T("match.open_conversation")
			if m.Unread > 0 {
				label = l.T("match.conversation_unread", "Count", m.Unread)
			}
			ans.Links = append(ans.Links, requestpage.Link{URL: fmt.Sprintf("/demandes/%d/echanges/%d", p.ID, m.OrgID), Label: label, TestID: "open-conversation"})
		}
		if p.Mine {
			ans.Forms = s.replyForms(l, base, m, st)
		}
		v.Answers = append(v.Answers, ans)
	}
	if !p.Mine {
		return
	}
	v.Links = append(v.Links, requestpage.Link{URL: base + "/selection.csv", Label: l.T("request.export"), TestID: "export-shortlist"})
	if p.Status == purchase.StatusOpen {
		if p.FollowUp == nil && !p.Takes {
			v.Tools = append(v.Tools, withErrors(l, components.Form{Action: base + "/suite", Submit: l.T("request.follow_up_submit"), TestID: "follow-up-form",
				Fields: []components.Field{{Name: "answer", Label: l.T("request.follow_up_question"), Type: "select", Required: true, Value: st.tool.Get("answer"),
					Options: options(l, "request.follow_up.", purchase.FollowUps, "form.select")}, counterfactualField(l, st.tool.Get("counterfactual"))}}, st.toolErrs))
		}
		v.Tools = append(v.Tools, withErrors(l, components.Form{Action: base + "/cloturer", Submit: l.T("request.close_submit"), TestID: "close-form", Danger: true,
			Fields: []components.Field{{Name: "outcome", Label: l.T("request.close_outcome"), Type: "select", Required: true, Value: st.tool.Get("outcome"),
				Options: options(l, "request.outcome.", purchase.Outcomes, "form.select")}}}, st.toolErrs))
	}
	if p.FollowUp != nil && (p.Status == purchase.StatusOpen || p.Status == purchase.StatusClosed) {
		answer := st.tool.Get("answer")
		if answer == "" {
			answer = *p.FollowUp
		}
		v.Tools = append(v.Tools, withErrors(l, components.Form{Action: base + "/suite/modifier", Submit: l.T("request.follow_up_change_submit"),
			TestID: "follow-up-change-form", Fields: []components.Field{{Name: "answer", Label: l.T("request.follow_up_question"), Type: "select",
				Required: true, Value: answer, Options: options(l, "request.follow_up.", purchase.FollowUps, "form.select")},
				counterfactualField(l, st.tool.Get("counterfactual"))}}, st.toolErrs))
	}
}

// counterfactualField asks, for a contract awarded through Passerelle,
// whether the buyer would have consulted these SMEs without it.
func counterfactualField(l *i18n.Localizer, value string) components.Field {
	return components.Field{Name: "counterfactual", Label: l.T("request.counterfactual_question"), Type: "select", Value: value,
		Hint: l.T("request.counterfactual_hint"), Options: options(l, "request.counterfactual.", purchase.Counterfactuals, "form.select")}
}

// replyForms turn the buyer's allowed steps on an answer into forms.
func (s *Server) replyForms(l *i18n.Localizer, base string, m purchase.Match, st pageState) []components.Form {
	org := strconv.FormatInt(m.OrgID, 10)
	var typed purchase.Reply
	var errs map[string]string
	if st.replyOrg == m.OrgID {
		typed, errs = st.reply, st.replyErrs
	}
	suffixed := map[string]string{}
	for k, v := range errs {
		suffixed[k+"-"+org] = v
	}
	var forms []components.Form
	for _, action := range purchase.ReplyActions {
		if !slices.Contains(m.Actions, action) {
			continue
		}
		f := components.Form{Action: base + "/reponses/" + org + "/" + string(action), Submit: l.T("match.reply." + string(action)),
			TestID: "reply-" + string(action), Danger: action == purchase.ActDecline || action == purchase.ActLost}
		switch action {
		case purchase.ActDecline:
			f.Fields = []components.Field{{Name: "reason-" + org, Label: l.T("match.reply_reason"), Hint: l.T("match.reply_reason_hint"),
				Type: "textarea", Value: typed.Reason, Required: true, MaxLength: purchase.MaxReason}}
		case purchase.ActWon:
			f.Fields = []components.Field{
				{Name: "amount-" + org, Label: l.T("match.amount"), Hint: l.T("match.amount_hint"), Type: "text", Value: typed.Amount, Required: true},
				{Name: "date-" + org, Label: l.T("match.contract_date"), Type: "date", Value: typed.Date, Required: true}}
		}
		if typed.Action == action {
			f = withErrors(l, f, suffixed)
		}
		forms = append(forms, f)
	}
	return forms
}

// requestInterest is an SME's "interested" from the request's page.
func (s *Server) requestInterest(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	in := interestInput(r)
	err := s.purchases.ExpressInterest(onceCtx(r), actorFrom(r.Context()), id, in)
	if errs, ok := fieldErrors(err); ok {
		s.requestPage(w, r, id, http.StatusUnprocessableEntity, pageState{interest: in, interestErrs: errs})
		return
	}
	s.afterStep(w, r, err, "match.flash_interested", fmt.Sprintf("/demandes/%d", id))
}

func interestInput(r *http.Request) purchase.Interest {
	in := purchase.Interest{Message: r.PostFormValue("message"), OfferID: r.PostFormValue("offer")}
	for i := range purchase.MaxQuestions {
		in.Answers = append(in.Answers, r.PostFormValue("answer"+strconv.Itoa(i)))
	}
	return in
}

// requestNotInterested is an SME's "not interested" with its reason.
func (s *Server) requestNotInterested(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	d := purchase.Decline{Reason: r.PostFormValue("reason"), Text: r.PostFormValue("text")}
	err := s.purchases.NotInterested(r.Context(), actorFrom(r.Context()), id, d)
	if errs, ok := fieldErrors(err); ok {
		s.requestPage(w, r, id, http.StatusUnprocessableEntity, pageState{decline: d, declineErrs: errs})
		return
	}
	s.afterStep(w, r, err, "match.flash_not_interested", fmt.Sprintf("/demandes/%d", id))
}

// matchesSide lists the request's matches, best first, with their reasons,
// for its buyer (who shortlists from there and says whether each is
// relevant) and for staff (who also see the score).
func (s *Server) matchesSide(l *i18n.Localizer, a member.Actor, v *requestpage.Detail, p purchase.Page) {
	v.MatchesTitle, v.MatchesLead, v.MatchesEmpty = l.T("match.title"), l.T("match.lead"), l.T("match.empty")
	base := fmt.Sprintf("/espace/demandes/%d", p.ID)
	reader := present.Buyer
	if a.IsStaff() {
		reader = present.Staff
	}
	for _, m := range p.Matches {
		x := requestpage.Answer{Anchor: fmt.Sprintf("match-%d", m.OrgID), TestID: "match", OrgName: m.OrgName,
			OrgURL: fmt.Sprintf("/entreprises/%d", m.OrgID), State: string(m.State), Lifecycle: s.lifecycle(l, m.State, m.Visited),
			Explanation: s.labels(l).Explain(m.Reasons, reader)}
		if m.Rank != nil {
			x.Rank = l.T("match.rank_n", "N", l.Int(int64(*m.Rank)))
		}
		if a.IsStaff() && m.Score != nil {
			x.Facts = append(x.Facts, components.Fact{Label: l.T("match.score"), Value: fmt.Sprintf("%.3f", *m.Score)})
		}
		if m.BestOfferID != nil && m.BestOfferTitle != nil {
			x.Links = append(x.Links, requestpage.Link{URL: fmt.Sprintf("/offres/%d", *m.BestOfferID), Label: l.T("match.best_offer", "Title", *m.BestOfferTitle)})
		}
		org := strconv.FormatInt(m.OrgID, 10)
		// An answered match is shortlisted from the answers above.
		if p.Mine && !m.State.Answered() && slices.Contains(m.Actions, purchase.ActShortlist) {
			x.Forms = append(x.Forms, components.Form{Action: base + "/reponses/" + org + "/shortlist", Submit: l.T("match.reply.shortlist"), TestID: "reply-shortlist"})
		}
		if m.State != purchase.StateSuggested && m.State != purchase.StateViewed {
			v.Matches = append(v.Matches, x) // answered: whether the suggestion fits is no longer the question
			continue
		}
		fb := fmt.Sprintf("/demandes/%d/correspondances/%s/avis", p.ID, org)
		x.Forms = append(x.Forms,
			components.Form{Action: fb, Submit: l.T("match.relevant"), TestID: "feedback-relevant",
				Fields: []components.Field{{Name: "relevant", Type: "hidden", Value: "1"}}},
			components.Form{Action: fb, Submit: l.T("match.not_relevant"), TestID: "feedback-not-relevant",
				Fields: []components.Field{{Name: "relevant", Type: "hidden", Value: "0"},
					{Name: "reason-" + org, Label: l.T("match.feedback_reason"), Type: "text", MaxLength: purchase.MaxFeedbackReason}}})
		v.Matches = append(v.Matches, x)
	}
}

// matchFeedback records whether a match is relevant.
func (s *Server) matchFeedback(w http.ResponseWriter, r *http.Request) {
	id, org, ok := conversationParams(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	a := actorFrom(r.Context())
	err := s.purchases.Feedback(r.Context(), a, id, org, r.PostFormValue("relevant") == "1", r.PostFormValue(fmt.Sprintf("reason-%d", org)))
	if _, invalid := fieldErrors(err); invalid {
		s.flash(r, "match.flash_feedback_long")
		err = nil
	} else if err == nil {
		s.flash(r, "match.flash_feedback")
	}
	to := fmt.Sprintf("/demandes/%d", id)
	if a.IsBuyer() {
		to = fmt.Sprintf("/espace/demandes/%d#match-%d", id, org)
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
