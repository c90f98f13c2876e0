package server

import (
	"net/http"

	"passerelle/internal/member"
	"passerelle/internal/platform/i18n"
	"passerelle/web/pages/staff"
)

// staffMailbox shows staff every mail of the outbox (development mailbox).
func (s *Server) staffMailbox(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	page := pageParam(r)
	mails, total, err := s.members.Mailbox(r.Context(), actorFrom(r.Context()), page)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	backlog, err := s.members.MailBacklog(r.Context(), actorFrom(r.Context()))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	lead := l.T("mailbox.lead")
	if backlog.Unsent > 0 && backlog.Oldest != nil {
		// The backlog, so a relay outage is seen before members complain.
		lead += " " + l.T("mailbox.backlog", "Unsent", l.Int(int64(backlog.Unsent)), "Failing", l.Int(int64(backlog.Failing)),
			"Since", l.Date(*backlog.Oldest)+" "+backlog.Oldest.Format("15:04"))
	}
	v := staff.Table{Page: s.page(r, "mailbox.title"), Title: l.T("mailbox.title"), Lead: lead,
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
