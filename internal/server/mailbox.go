package server

import (
	"net/http"

	"passerelle/internal/i18n"
	"passerelle/internal/member"
	"passerelle/web/pages/staff"
)

// staffMailbox shows staff every mail of the outbox (development mailbox).
func (s *Server) staffMailbox(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	mails, total, err := s.members.Mailbox(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := staff.Table{Page: s.page(r, "mailbox.title"), Title: l.T("mailbox.title"), Lead: l.T("mailbox.lead"),
		Total: l.T("list.total", "Count", total), Empty: l.T("mailbox.empty"), Pager: pager(l, r, page, total, member.PageSize),
		Headers: []string{l.T("mailbox.when"), l.T("mailbox.to"), l.T("mailbox.subject"), l.T("mailbox.body"), l.T("mailbox.state")}}
	for _, m := range mails {
		state := l.T("mailbox.pending", "Attempts", m.Attempts)
		if m.SentAt != nil {
			state = l.T("mailbox.sent")
		} else if m.LastError != "" {
			state += " — " + m.LastError
		}
		body := m.Body
		if m.Hidden {
			body = l.T("mailbox.hidden")
		}
		v.Rows = append(v.Rows, []string{l.Date(m.CreatedAt) + " " + m.CreatedAt.Format("15:04"), m.To, m.Subject, body, state})
	}
	s.render(w, r, http.StatusOK, staff.TableView(v))
}
