package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/i18n"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// The barometer: an SME rates a large account; staff open and close
// campaigns.

// ratingFields is the barometer form with what was typed.
func ratingFields(l *i18n.Localizer, q indicator.Questionnaire, in indicator.RatingInput) []components.Field {
	opts := []components.Option{{Value: "", Label: l.T("form.select")}}
	for _, a := range q.Accounts {
		opts = append(opts, components.Option{Value: strconv.FormatInt(a.ID, 10), Label: a.Name})
	}
	fields := []components.Field{{Name: "account", Label: l.T("barometer.account"), Type: "select", Value: in.Account, Options: opts, Required: true}}
	for i, c := range indicator.Criteria {
		fields = append(fields, components.Field{Name: c, Label: l.T("indicator.criterion." + c), Type: "number", Value: in.Scores[i], Required: true,
			Hint: l.T("barometer.score_hint." + c)})
	}
	return append(fields, components.Field{Name: "comment", Label: l.T("barometer.comment"), Type: "textarea", Value: in.Comment, MaxLength: 2000,
		Hint: l.T("barometer.comment_hint")})
}

// barometer is the SME's questionnaire of the open campaign.
func (s *Server) barometer(w http.ResponseWriter, r *http.Request) {
	in := indicator.RatingInput{Account: r.URL.Query().Get("compte")}
	s.barometerPage(w, r, http.StatusOK, in, nil)
}

func (s *Server) barometerPage(w http.ResponseWriter, r *http.Request, status int, in indicator.RatingInput, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	q, err := s.indicators.Questionnaire(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := indicatorpage.Report{Page: s.page(r, "barometer.title"), Title: l.T("barometer.title"), Lead: l.T("barometer.lead", "Min", indicator.MinAnswers),
		TestID: "barometer"}
	if q.Campaign == nil {
		v.Sections = []indicatorpage.Section{{ID: "campagne", Title: l.T("barometer.campaign_none_title"), Empty: l.T("barometer.campaign_none")}}
		s.render(w, r, status, indicatorpage.ReportView(v))
		return
	}
	// Changing an answer: the form starts from it.
	if status == http.StatusOK && in.Account != "" {
		for _, a := range q.Answers {
			if strconv.FormatInt(a.ID, 10) == in.Account {
				for i := range in.Scores {
					in.Scores[i] = strconv.Itoa(a.Scores[i])
				}
				in.Comment = a.Comment
			}
		}
	}
	form := withErrors(l, components.Form{Action: "/barometre", Submit: l.T("barometer.submit"), TestID: "barometer-form",
		Fields: ratingFields(l, q, in)}, errs)
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "repondre", Title: l.T("barometer.campaign_title", "Year", q.Campaign.Year),
		Lead: l.T("barometer.anonymous"), Forms: []components.Form{form}})
	mine := indicatorpage.Section{ID: "mes-reponses", Title: l.T("barometer.mine"), Empty: l.T("barometer.mine_empty")}
	t := &indicatorpage.Table{TestID: "my-answers", Headers: []string{l.T("barometer.account")}}
	for _, c := range indicator.Criteria {
		t.Headers = append(t.Headers, l.T("indicator.criterion."+c))
	}
	t.Headers = append(t.Headers, l.T("barometer.updated"))
	for _, a := range q.Answers {
		row := []string{a.Name}
		for _, sc := range a.Scores {
			row = append(row, strconv.Itoa(sc))
		}
		t.Rows = append(t.Rows, append(row, l.DateTime(a.UpdatedAt)))
		mine.Links = append(mine.Links, indicatorpage.Link{Href: fmt.Sprintf("/barometre?compte=%d#repondre", a.ID),
			Label: l.T("barometer.change", "Name", a.Name), TestID: "change-answer"})
	}
	mine.Table = t
	v.Sections = append(v.Sections, mine)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// barometerAnswer records an SME's rating.
func (s *Server) barometerAnswer(w http.ResponseWriter, r *http.Request) {
	in := indicator.RatingInput{Account: r.PostFormValue("account"), Comment: r.PostFormValue("comment")}
	for i, c := range indicator.Criteria {
		in.Scores[i] = r.PostFormValue(c)
	}
	err := s.indicators.Answer(r.Context(), actorFrom(r.Context()), in)
	if errs, ok := fieldErrors(err); ok {
		s.barometerPage(w, r, http.StatusUnprocessableEntity, in, errs)
		return
	}
	if errors.Is(err, indicator.ErrInvalidState) {
		// Staff closed the campaign while the form was open: the page
		// says there is none now, rather than an error page.
		s.flash(r, "barometer.flash_closed_meanwhile")
		http.Redirect(w, r, "/barometre", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_saved")
	http.Redirect(w, r, "/barometre#mes-reponses", http.StatusSeeOther)
}

// staffBarometer is where staff open and close campaigns.
func (s *Server) staffBarometer(w http.ResponseWriter, r *http.Request) {
	s.staffBarometerPage(w, r, http.StatusOK, strconv.Itoa(time.Now().Year()), nil)
}

func (s *Server) staffBarometerPage(w http.ResponseWriter, r *http.Request, status int, year string, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	list, err := s.indicators.Campaigns(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	v := indicatorpage.Report{Page: s.page(r, "barometer.staff_title"), Title: l.T("barometer.staff_title"),
		Lead: l.T("barometer.staff_lead", "Min", indicator.MinAnswers), TestID: "staff-barometer"}
	sec := indicatorpage.Section{ID: "campagne", Title: l.T("barometer.open_title")}
	var open *indicator.Campaign
	for i := range list {
		if list[i].Open() {
			open = &list[i]
		}
	}
	if open == nil {
		sec.Forms = []components.Form{withErrors(l, components.Form{Action: "/equipe/barometre", Submit: l.T("barometer.open_submit"), TestID: "open-campaign",
			Fields: []components.Field{{Name: "year", Label: l.T("barometer.year"), Type: "number", Value: year, Required: true}}}, errs)}
	} else {
		sec.Facts = []components.Fact{{Label: l.T("barometer.open_since"), Value: l.DateTime(open.OpenedAt)},
			{Label: l.T("barometer.answers"), Value: l.Int(int64(open.Answers))}}
		sec.Forms = []components.Form{{Action: fmt.Sprintf("/equipe/barometre/%d/cloturer", open.ID), Submit: l.T("barometer.close_submit", "Year", open.Year),
			Danger: true, TestID: "close-campaign"}}
	}
	v.Sections = append(v.Sections, sec)
	all := indicatorpage.Section{ID: "campagnes", Title: l.T("barometer.campaigns"), Empty: l.T("barometer.campaigns_none")}
	t := &indicatorpage.Table{Headers: []string{l.T("barometer.year"), l.T("barometer.opened"), l.T("barometer.closed"), l.T("barometer.answers")}}
	for _, c := range list {
		closed := l.T("barometer.still_open")
		if c.ClosedAt != nil {
			closed = l.DateTime(*c.ClosedAt)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Year), l.DateTime(c.OpenedAt), closed, l.Int(int64(c.Answers))})
		all.Links = append(all.Links, indicatorpage.Link{Href: fmt.Sprintf("/observatoire?campagne=%d#barometre", c.ID), Label: l.T("barometer.results_year", "Year", c.Year)})
	}
	if len(list) > 0 {
		all.Table = t
	}
	v.Sections = append(v.Sections, all)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// campaignOpen opens a year's campaign.
func (s *Server) campaignOpen(w http.ResponseWriter, r *http.Request) {
	year := r.PostFormValue("year")
	_, err := s.indicators.OpenCampaign(r.Context(), actorFrom(r.Context()), year)
	if errs, ok := fieldErrors(err); ok {
		s.staffBarometerPage(w, r, http.StatusUnprocessableEntity, year, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_opened")
	http.Redirect(w, r, "/equipe/barometre", http.StatusSeeOther)
}

// campaignClose closes a campaign.
func (s *Server) campaignClose(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if err := s.indicators.CloseCampaign(r.Context(), actorFrom(r.Context()), id); err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "barometer.flash_closed")
	http.Redirect(w, r, "/equipe/barometre", http.StatusSeeOther)
}
