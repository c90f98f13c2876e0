package purchase

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/validate"
)

// Message is one message of a conversation.
type Message struct {
	ID         int64
	AuthorOrg  int64
	AuthorName string
	Body       string
	CreatedAt  time.Time
}

// Conversation is the thread between a buyer and an SME about a request.
type Conversation struct {
	Request  Request
	Match    Match
	Messages []Message
	CanWrite bool // the reader is one of the two organisations
}

// conversationAccess checks the reader may read the conversation of
// request id with SME org: a member of either organisation once the buyer
// accepted the SME, or staff once a member reported it. Anyone else gets
// ErrNotFound.
func (s *Service) conversationAccess(ctx context.Context, q dbtx, actor member.Actor, id, org int64, lock bool) (Request, Match, bool, error) {
	r, err := s.store.requestLocked(ctx, q, id, lock)
	if err != nil {
		return r, Match{}, false, err
	}
	m, err := s.store.match(ctx, q, id, org)
	if err != nil {
		return r, m, false, err
	}
	member := (actor.IsBuyer() && actor.OrgID == r.OrgID) || (actor.IsSME() && actor.OrgID == org)
	switch {
	case member && m.State.Reveals():
		return r, m, true, nil
	case actor.IsStaff() && m.Reported:
		return r, m, false, nil
	}
	return r, m, false, ErrNotFound
}

// Conversation returns the messages of a conversation, oldest first, and
// marks them read for the reader.
func (s *Service) Conversation(ctx context.Context, actor member.Actor, id, org int64) (Conversation, error) {
	r, m, write, err := s.conversationAccess(ctx, s.db, actor, id, org, false)
	if err != nil {
		return Conversation{}, wrap("conversation", id, err)
	}
	msgs, err := s.store.messages(ctx, s.db, id, org)
	if err != nil {
		return Conversation{}, fmt.Errorf("purchase: conversation %d/%d: %w", id, org, err)
	}
	if write && len(msgs) > 0 {
		if err := s.store.markRead(ctx, s.db, actor.UserID, id, org, msgs[len(msgs)-1].ID); err != nil {
			return Conversation{}, fmt.Errorf("purchase: read %d/%d: %w", id, org, err)
		}
	}
	return Conversation{Request: r, Match: m, Messages: msgs, CanWrite: write}, nil
}

// Post adds a message to a conversation and tells the other organisation.
func (s *Service) Post(ctx context.Context, actor member.Actor, id, org int64, body string) error {
	body = validate.Clean(body)
	e := validate.Errors{}
	e.Required("body", body, MaxConversation)
	if e.Any() {
		return &ValidationError{Fields: e}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, _, write, err := s.conversationAccess(ctx, tx, actor, id, org, true)
		if err != nil {
			return err
		}
		if !write {
			return ErrForbidden
		}
		_, err = once.Do(ctx, tx, "message", func() (int64, error) {
			msgID, err := s.store.insertMessage(ctx, tx, id, org, actor.OrgID, actor.UserID, actor.Name, body, s.Now())
			if err != nil {
				return 0, err
			}
			if err := s.store.markRead(ctx, tx, actor.UserID, id, org, msgID); err != nil {
				return 0, err
			}
			if err := s.event(ctx, tx, id, org, "message", actor.UserID); err != nil {
				return 0, err
			}
			if s.notify == nil {
				return msgID, nil
			}
			to, path := org, fmt.Sprintf("/demandes/%d/echanges/%d", id, org)
			if actor.OrgID == org {
				to = r.OrgID
			}
			return msgID, s.notify.Organisation(ctx, tx, to, Messages, "message_received", "Title", r.Title, "From", actor.OrgName,
				"URL", s.notify.BaseURL()+path)
		})
		return err
	})
	return wrap("post", id, err)
}

// Report lets a member of either organisation show the conversation to
// staff (abuse, spam). It is audited.
func (s *Service) Report(ctx context.Context, actor member.Actor, id, org int64) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, _, write, err := s.conversationAccess(ctx, tx, actor, id, org, true)
		if err != nil {
			return err
		}
		if !write {
			return ErrForbidden
		}
		if err := s.store.markReported(ctx, tx, id, org, s.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionReported, org, r.Title, ""))
	})
	return wrap("report", id, err)
}

// Reported lists the reported conversations, for staff.
func (s *Service) Reported(ctx context.Context, actor member.Actor) ([]Match, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	list, err := s.store.reported(ctx, s.db, 100)
	if err != nil {
		return nil, fmt.Errorf("purchase: reported: %w", err)
	}
	return list, nil
}
