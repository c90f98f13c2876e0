package purchase

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
)

// Home is what a member has to do now about requests.
type Home struct {
	// SMEs
	Fitting []Hit  // open requests suggested to it, not yet answered, nearest deadline first
	Waiting []Item // its answers waiting for the buyer's reply
	// Both sides
	Unread []Item // conversations with unread messages
	// Buyers
	Requests  []Summary // its open requests, with their answers
	FollowUps []Item    // requests whose "what happened?" is still unanswered
	Drafts    []Item    // drafts and requests sent back
}

// Item is a request (and, for conversations, the SME) with a count or date.
type Item struct {
	RequestID int64
	OrgID     int64
	Title     string
	OrgName   string
	State     State
	Count     int
	At        time.Time
}

// HomeLimit is how many lines each block of the home page shows.
const HomeLimit = 10

// Home gathers the actor's requests to act on.
func (s *Service) Home(ctx context.Context, actor member.Actor) (Home, error) {
	var h Home
	var err error
	switch {
	case actor.IsSME():
		err = s.smeHome(ctx, actor, &h)
	case actor.IsBuyer():
		err = s.buyerHome(ctx, actor, &h)
	}
	if err != nil {
		return h, fmt.Errorf("purchase: home of %d: %w", actor.UserID, err)
	}
	return h, nil
}

func items(rows pgx.Rows, err error) ([]Item, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Item])
}

func (s *Service) smeHome(ctx context.Context, actor member.Actor, h *Home) error {
	rows, err := s.db.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous THEN '' ELSE g.legal_name END, r.cpv_codes,
			r.budget_band, r.deadline, r.places, r.innovative, m.state
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations g ON g.id = r.organisation_id
		WHERE m.organisation_id = $1 AND m.matched AND m.state IN ('suggested', 'viewed') AND r.status = 'open' AND r.deadline >= $2
		ORDER BY r.deadline, r.id LIMIT $3`, actor.OrgID, s.today(), HomeLimit)
	if err != nil {
		return err
	}
	if h.Fitting, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Hit]); err != nil {
		return err
	}
	h.Waiting, err = items(s.db.Query(ctx, `SELECT r.id, m.organisation_id, r.title, CASE WHEN r.anonymous THEN '' ELSE g.legal_name END,
			m.state, 0, m.answered_at
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations g ON g.id = r.organisation_id
		WHERE m.organisation_id = $1 AND m.state IN ('interested', 'shortlisted') AND m.answered_at IS NOT NULL
		ORDER BY m.answered_at LIMIT $2`, actor.OrgID, HomeLimit))
	if err != nil {
		return err
	}
	h.Unread, err = s.unread(ctx, actor)
	return err
}

// unread lists the conversations of the actor's organisation with messages
// from the other side the actor has not read.
func (s *Service) unread(ctx context.Context, actor member.Actor) ([]Item, error) {
	return items(s.db.Query(ctx, `SELECT m.request_id, m.organisation_id, r.title,
			CASE WHEN $1 = m.organisation_id THEN b.legal_name ELSE g.legal_name END, m.state, count(x.id)::int, max(x.created_at)
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
			JOIN organisations g ON g.id = m.organisation_id JOIN organisations b ON b.id = r.organisation_id
			JOIN request_messages x ON x.request_id = m.request_id AND x.organisation_id = m.organisation_id AND x.author_org_id <> $1
		WHERE (m.organisation_id = $1 OR r.organisation_id = $1) AND m.state IN ('discussion', 'won', 'lost')
		  AND x.id > coalesce((SELECT c.read_until FROM conversation_reads c WHERE c.user_id = $2
			AND c.request_id = m.request_id AND c.organisation_id = m.organisation_id), 0)
		GROUP BY m.request_id, m.organisation_id, r.title, b.legal_name, g.legal_name, m.state
		ORDER BY max(x.created_at) DESC LIMIT $3`, actor.OrgID, actor.UserID, HomeLimit))
}

func (s *Service) buyerHome(ctx context.Context, actor member.Actor, h *Home) error {
	rows, err := s.db.Query(ctx, `SELECT `+columns+`,
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state NOT IN ('suggested', 'viewed', 'not_interested')),
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state = 'interested')`+from+`
		WHERE r.organisation_id = $1 AND r.status = 'open' ORDER BY r.deadline, r.id LIMIT $2`, actor.OrgID, HomeLimit)
	if err != nil {
		return err
	}
	if h.Requests, err = pgx.CollectRows(rows, scanSummary); err != nil {
		return err
	}
	h.FollowUps, err = items(s.db.Query(ctx, `SELECT id, organisation_id, title, '', 'suggested', 0, follow_up_asked_at
		FROM purchase_requests WHERE organisation_id = $1 AND status = 'open' AND follow_up_asked_at IS NOT NULL AND follow_up IS NULL
		ORDER BY deadline LIMIT $2`, actor.OrgID, HomeLimit))
	if err != nil {
		return err
	}
	h.Drafts, err = items(s.db.Query(ctx, `SELECT id, organisation_id, title, status_reason, 'suggested', 0, updated_at
		FROM purchase_requests WHERE organisation_id = $1 AND status IN ('draft', 'rejected') ORDER BY updated_at DESC LIMIT $2`,
		actor.OrgID, HomeLimit))
	if err != nil {
		return err
	}
	h.Unread, err = s.unread(ctx, actor)
	return err
}
