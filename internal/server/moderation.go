package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/moderation"
	"passerelle/web/components"
	"passerelle/web/pages/staff"
)

// moderationDecisions maps the decisions' URL words to the service's.
var moderationDecisions = map[string]moderation.Decision{"publier": moderation.Publish, "renvoyer": moderation.SendBack}

// moderationRowError is a reason typed for an item whose decision failed.
type moderationRowError struct {
	kind     string
	id       int64
	decision string
	reason   string
	err      string
}

// moderationPage is staff's one queue of content waiting for review, every
// kind together, oldest first, each item in full.
func (s *Server) moderationPage(w http.ResponseWriter, r *http.Request, status int, re *moderationRowError) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	items, total, err := s.moderation.Queue(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	page = min(page, max((total+moderation.PageSize-1)/moderation.PageSize, 1)) // as the queue bounded it
	v := staff.List{Page: s.page(r, "moderation.title"), Title: l.T("moderation.title"), Lead: l.T("moderation.lead"),
		Total: l.T("moderation.total", "N", l.Int(int64(total))), Empty: l.T("moderation.empty"),
		Pager: pager(l, r, page, total, moderation.PageSize)}
	for _, it := range items {
		row := staff.Row{ID: it.ID, Title: it.Title, Badge: l.T("moderation.kind." + it.Kind), BadgeKind: "applied",
			Facts:  []string{l.T("moderation.by", "Org", it.OrgName), l.T("moderation.submitted_on", "Date", l.Date(it.SubmittedAt))},
			TestID: fmt.Sprintf("moderation-%s-%d", it.Kind, it.ID)}
		for _, f := range it.Fields {
			row.Details = append(row.Details, components.Fact{Label: l.T(f.Label), Value: s.fieldText(l, f)})
		}
		for _, d := range []struct {
			path   string
			danger bool
		}{{"publier", false}, {"renvoyer", true}} {
			dec := staff.Decision{Action: fmt.Sprintf("/equipe/moderation/%s/%d/%s", it.Kind, it.ID, d.path),
				Label: l.T("moderation.decision." + d.path), Danger: d.danger, TestID: "moderation-" + d.path,
				Version: strconv.FormatInt(it.Version, 10)}
			if d.danger {
				dec.ReasonLabel = l.T("moderation.reason")
			}
			if re != nil && re.kind == it.Kind && re.id == it.ID && re.decision == d.path {
				dec.ReasonValue, dec.ReasonError = re.reason, l.T(re.err)
			}
			row.Decisions = append(row.Decisions, dec)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, status, staff.ListView(v))
}

// fieldText renders one field of moderated content in the reader's language.
func (s *Server) fieldText(l *i18n.Localizer, f moderation.Field) string {
	switch {
	case f.Message != "":
		text := l.T(f.Message, moneyArgs(l, f.Args)...)
		if f.Cited != "" {
			text += " — " + l.T(f.Cited, f.CitedArgs...)
		}
		return text
	case f.CPV != nil:
		return strings.Join(s.labels(l).CPVs(f.CPV), " ; ")
	case f.Places != nil:
		return s.labels(l).Places(f.Places)
	case f.Value != "":
		return l.T(f.Value)
	}
	return f.Text
}

func (s *Server) moderationQueue(w http.ResponseWriter, r *http.Request) {
	s.moderationPage(w, r, http.StatusOK, nil)
}

// moderationDecide publishes an item or sends it back with a reason, on the
// version the reviewer was shown.
func (s *Server) moderationDecide(w http.ResponseWriter, r *http.Request) {
	kind, path := chi.URLParam(r, "kind"), chi.URLParam(r, "decision")
	d, known := moderationDecisions[path]
	id, ok := idParam(r)
	version, okVersion := intIn(r.PostFormValue("version"), 0, math.MaxInt64)
	if !ok || !known || !okVersion || version == moderation.AnyVersion {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	reason := r.PostFormValue("reason")
	err := s.moderation.Decide(r.Context(), actorFrom(r.Context()), kind, id, version, d, reason)
	if errs, ok := fieldErrors(err); ok {
		s.moderationPage(w, r, http.StatusUnprocessableEntity, &moderationRowError{kind: kind, id: id, decision: path, reason: reason, err: errs["reason"]})
		return
	}
	switch {
	case err == nil:
		s.flash(r, "moderation.done."+path)
	case errors.Is(err, moderation.ErrNotWaiting):
		s.flash(r, "staff.already_decided")
	case errors.Is(err, moderation.ErrChanged):
		s.flash(r, "moderation.changed")
	default:
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, "/equipe/moderation", http.StatusSeeOther)
}
