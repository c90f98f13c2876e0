package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/once"
	"passerelle/internal/purchase"
	"passerelle/web/components"
	requestpage "passerelle/web/pages/purchase"
)

// conversationParams reads {id} (the request) and {org} (the SME).
func conversationParams(r *http.Request) (id, org int64, ok bool) {
	id, ok = idParam(r)
	org, okOrg := pathID(r, "org")
	return id, org, ok && okOrg
}

// conversationShow is the thread between a buyer and an SME about a request.
func (s *Server) conversationShow(w http.ResponseWriter, r *http.Request) {
	id, org, ok := conversationParams(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.conversationPage(w, r, id, org, http.StatusOK, "", nil)
}

func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request, id, org int64, status int, body string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	c, err := s.purchases.Conversation(r.Context(), a, id, org)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	pg := s.page(r, "conversation.title")
	other := c.Match.OrgName
	back := fmt.Sprintf("/demandes/%d", id)
	if a.IsSME() {
		other = c.Request.OrgName // revealed: the buyer accepted the SME
	}
	if a.IsBuyer() {
		back = fmt.Sprintf("/espace/demandes/%d", id)
	}
	v := requestpage.Conversation{Page: pg, Title: l.T("conversation.title"), Lead: l.T("conversation.lead", "Title", c.Request.Title, "With", other),
		Back: requestpage.Link{URL: back, Label: l.T("conversation.back")}, Lifecycle: s.lifecycle(l, c.Match.State, c.Match.Visited), Empty: l.T("conversation.empty")}
	for _, m := range c.Messages {
		v.Messages = append(v.Messages, requestpage.Message{Author: m.AuthorName, Date: l.DateTime(m.CreatedAt), Body: m.Body, Mine: m.AuthorOrg == a.OrgID})
	}
	if c.CanWrite {
		f := withErrors(l, components.Form{Action: fmt.Sprintf("/demandes/%d/echanges/%d", id, org), Submit: l.T("conversation.send"), TestID: "message-form",
			Fields: []components.Field{{Name: "body", Label: l.T("conversation.message"), Type: "textarea", Value: body, Required: true,
				MaxLength: purchase.MaxConversation}, onceField(r)}}, errs)
		v.Form = &f
		if !c.Match.Reported {
			rep := components.Form{Action: fmt.Sprintf("/demandes/%d/echanges/%d/signaler", id, org), Submit: l.T("conversation.report"),
				TestID: "report-form", Danger: true,
				Fields: []components.Field{{Name: "confirm", Label: l.T("conversation.report_confirm"), Type: "checkbox", Required: true}}}
			v.Report = &rep
		}
	}
	if c.Match.Reported {
		v.Notice = l.T("conversation.reported")
	}
	s.render(w, r, status, requestpage.ConversationView(v))
}

// conversationPost adds a message.
func (s *Server) conversationPost(w http.ResponseWriter, r *http.Request) {
	id, org, ok := conversationParams(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	body := r.PostFormValue("body")
	err := s.purchases.Post(onceCtx(r), actorFrom(r.Context()), id, org, body)
	if errs, ok := fieldErrors(err); ok {
		s.conversationPage(w, r, id, org, http.StatusUnprocessableEntity, body, errs)
		return
	}
	s.afterStep(w, r, err, "conversation.flash_sent", fmt.Sprintf("/demandes/%d/echanges/%d", id, org))
}

// conversationReport shows the conversation to staff.
func (s *Server) conversationReport(w http.ResponseWriter, r *http.Request) {
	id, org, ok := conversationParams(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if r.PostFormValue("confirm") != "1" {
		s.flash(r, "offers.flash_confirm")
		http.Redirect(w, r, fmt.Sprintf("/demandes/%d/echanges/%d", id, org), http.StatusSeeOther)
		return
	}
	s.afterStep(w, r, s.purchases.Report(r.Context(), actorFrom(r.Context()), id, org), "conversation.flash_reported",
		fmt.Sprintf("/demandes/%d/echanges/%d", id, org))
}

// The pages one-click links in mails open. A GET never changes anything
// (mail scanners follow links): it shows the one form the link stands
// for, and the POST carries the signed token again.

func linkPurpose(r *http.Request) string {
	if r.URL.Query().Get("reponse") != "" || r.PostFormValue("reponse") != "" {
		return purchase.LinkFollowUp
	}
	return ""
}

// linkActor verifies the token of a link for request id and returns who
// it acts for and its purpose; nil when it is invalid (the page says so).
func (s *Server) linkActor(r *http.Request, id int64, token string) (member.Actor, string, error) {
	purposes := []string{purchase.LinkInterest, purchase.LinkNotInterested}
	if linkPurpose(r) == purchase.LinkFollowUp {
		purposes = []string{purchase.LinkFollowUp}
	}
	for _, p := range purposes {
		l, err := s.purchases.VerifyLink(r.Context(), token, p, id)
		if errors.Is(err, purchase.ErrLinkInvalid) {
			continue
		}
		if err != nil {
			return member.Actor{}, "", err
		}
		a, err := s.purchases.LinkActor(r.Context(), l, s.members.ActorByID)
		return a, p, err
	}
	return member.Actor{}, "", purchase.ErrLinkInvalid
}

// linkShow opens a one-click link.
func (s *Server) linkShow(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.linkPage(w, r, id, r.URL.Query().Get("jeton"), http.StatusOK, pageState{})
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request, id int64, token string, status int, st pageState) {
	l := i18n.FromContext(r.Context())
	v := requestpage.LinkPage{Page: s.page(r, "link.title"), Title: l.T("link.title")}
	a, purpose, err := s.linkActor(r, id, token)
	if errors.Is(err, purchase.ErrLinkInvalid) {
		v.Notice, v.Why = l.T("link.invalid"), "invalid"
		v.Link = requestpage.Link{URL: "/connexion", Label: l.T("link.sign_in")}
		s.render(w, r, http.StatusGone, requestpage.LinkView(v))
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	p, err := s.purchases.Get(r.Context(), a, id)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v.Title = p.Title
	action := fmt.Sprintf("/demandes/%d/lien", id)
	hidden := components.Field{Name: "jeton", Type: "hidden", Value: token}
	v.Link = requestpage.Link{URL: fmt.Sprintf("/demandes/%d", id), Label: l.T("link.open_request")}
	switch purpose {
	case purchase.LinkFollowUp:
		v.Lead = l.T("link.follow_up_lead")
		v.Link.URL = fmt.Sprintf("/espace/demandes/%d", id)
		if p.FollowUp != nil {
			v.Why = "answered"
			v.Notice = l.T("link.follow_up_done", "Answer", l.T("request.follow_up."+*p.FollowUp))
			break
		}
		answer := r.URL.Query().Get("reponse")
		if r.Method == http.MethodPost {
			answer = r.PostFormValue("reponse")
		}
		f := withErrors(l, components.Form{Action: action, Submit: l.T("request.follow_up_submit"), TestID: "follow-up-form",
			Fields: []components.Field{hidden, {Name: "reponse", Label: l.T("request.follow_up_question"), Type: "select", Value: answer, Required: true,
				Options: options(l, "request.follow_up.", purchase.FollowUps, "form.select")},
				counterfactualField(l, r.PostFormValue("counterfactual"))}}, st.toolErrs)
		v.Form = &f
	default:
		v.Lead = l.T("link.answer_lead")
		state := purchase.StateSuggested
		if p.Match != nil {
			state = p.Match.State
		}
		switch {
		case !p.Takes:
			v.Notice, v.Why = l.T("request.takes_no_answer"), "closed"
		case purpose == purchase.LinkNotInterested && slices.Contains(p.Actions, purchase.ActNotInterested):
			f := declineForm(l, action, st.decline, st.declineErrs)
			f.Fields = append([]components.Field{hidden}, f.Fields...)
			v.Form = &f
		case purpose == purchase.LinkInterest && slices.Contains(p.Actions, purchase.ActInterest):
			f := interestForm(l, action, once.Of(r.PostFormValue(once.Field)), p, st.interest, st.interestErrs)
			f.Fields = append([]components.Field{hidden}, f.Fields...)
			v.Form = &f
		default:
			v.Notice, v.Why = l.T("link.already", "State", l.T("match.state."+string(state))), "answered"
		}
	}
	s.render(w, r, status, requestpage.LinkView(v))
}

// linkPost carries out what a one-click link stands for.
func (s *Server) linkPost(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	token := r.PostFormValue("jeton")
	a, purpose, err := s.linkActor(r, id, token)
	if err != nil {
		s.linkPage(w, r, id, token, http.StatusGone, pageState{})
		return
	}
	var st pageState
	switch purpose {
	case purchase.LinkFollowUp:
		err = s.purchases.FollowUp(r.Context(), a, id, r.PostFormValue("reponse"), r.PostFormValue("counterfactual"))
		if errs, ok := fieldErrors(err); ok {
			errs["reponse"] = errs["answer"]
			st.toolErrs = errs
		}
	case purchase.LinkNotInterested:
		st.decline = purchase.Decline{Reason: r.PostFormValue("reason"), Text: r.PostFormValue("text")}
		err = s.purchases.NotInterested(r.Context(), a, id, st.decline)
		st.declineErrs, _ = fieldErrors(err)
	default:
		st.interest = interestInput(r)
		err = s.purchases.ExpressInterest(onceCtx(r), a, id, st.interest)
		st.interestErrs, _ = fieldErrors(err)
	}
	if _, invalid := fieldErrors(err); invalid {
		s.linkPage(w, r, id, token, http.StatusUnprocessableEntity, st)
		return
	}
	l := i18n.FromContext(r.Context())
	v := requestpage.LinkPage{Page: s.page(r, "link.title"), Title: l.T("link.title"),
		Link: requestpage.Link{URL: fmt.Sprintf("/demandes/%d", id), Label: l.T("link.open_request")}}
	switch {
	case err == nil:
		v.Notice, v.Why = l.T("link.done."+purpose), "done"
	case errors.Is(err, purchase.ErrClosed):
		v.Notice, v.Why = l.T("request.takes_no_answer"), "closed"
	case errors.Is(err, purchase.ErrInvalidState):
		// Answered already, by this link or another way: the link's own
		// page says what stands (its state, or the follow-up given).
		s.linkPage(w, r, id, token, http.StatusOK, pageState{})
		return
	default:
		s.failure(w, r, err)
		return
	}
	if purpose == purchase.LinkFollowUp {
		v.Link.URL = fmt.Sprintf("/espace/demandes/%d", id)
	}
	s.render(w, r, http.StatusOK, requestpage.LinkView(v))
}
