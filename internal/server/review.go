package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/i18n"
	"passerelle/internal/offer"
	"passerelle/internal/validate"
	"passerelle/web/pages/staff"
)

// reviewPage is staff's queue of offers waiting for review, oldest first.
func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request, status int, re *rowError) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	list, total, err := s.offerSvc.Queue(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.offerErr(w, r, err)
		return
	}
	v := staff.List{Page: s.page(r, "review.title"), Title: l.T("review.title"), Lead: l.T("review.lead"),
		Total: l.T("review.total", "N", l.Int(int64(total))), Empty: l.T("review.empty"), Pager: pager(l, r, page, total, offer.PageSize)}
	for _, o := range list {
		facts := []string{l.T("review.by", "Org", o.OrgName), o.Summary}
		if o.Description != "" {
			facts = append(facts, validate.Shorten(o.Description, 600))
		}
		facts = append(facts, s.cpvFacts(l, o.CPVCodes)...)
		facts = append(facts, s.placesText(l, o.Places))
		if o.TRL != nil {
			facts = append(facts, l.T("offer.trl."+strconv.Itoa(int(*o.TRL))))
		}
		if o.SubmittedAt != nil {
			facts = append(facts, l.T("review.submitted_on", "Date", l.Date(*o.SubmittedAt)))
		}
		row := staff.Row{ID: o.ID, Title: o.Title, Badge: l.T("offer.status.submitted"), BadgeKind: "applied", Facts: facts}
		for _, d := range []struct {
			path   string
			danger bool
			reason bool
		}{{"approuver", false, false}, {"renvoyer", true, true}} {
			dec := staff.Decision{Action: fmt.Sprintf("/equipe/offres/%d/%s", o.ID, d.path), Label: l.T("review.decision." + d.path),
				Danger: d.danger, TestID: "review-" + d.path}
			if d.reason {
				dec.ReasonLabel = l.T("review.reason")
			}
			if re != nil && re.orgID == o.ID && re.decision == d.path {
				dec.ReasonValue, dec.ReasonError = re.reason, l.T(re.err)
			}
			row.Decisions = append(row.Decisions, dec)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, staff.ListView(v))
}

func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request) {
	s.reviewPage(w, r, http.StatusOK, nil)
}

// reviewDecide approves an offer or sends it back with a reason.
func (s *Server) reviewDecide(w http.ResponseWriter, r *http.Request) {
	path := chi.URLParam(r, "decision")
	id, ok := idParam(r)
	if !ok || (path != "approuver" && path != "renvoyer") {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	reason := r.PostFormValue("reason")
	err := s.offerSvc.Review(r.Context(), actorFrom(r.Context()), id, path == "approuver", reason)
	if errs, ok := fieldErrors(err); ok {
		s.reviewPage(w, r, http.StatusUnprocessableEntity, &rowError{orgID: id, decision: path, reason: reason, err: errs["reason"]})
		return
	}
	switch {
	case err == nil:
		s.flash(r, "review.done."+path)
	case errors.Is(err, offer.ErrInvalidState):
		s.flash(r, "staff.already_decided")
	default:
		s.offerErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/equipe/offres", http.StatusSeeOther)
}
