package purchase

import (
	"context"
	"fmt"
	"time"

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

func (s *Service) smeHome(ctx context.Context, actor member.Actor, h *Home) error {
	var err error
	if h.Fitting, err = s.store.fitting(ctx, s.db, actor.OrgID, s.today(), HomeLimit); err != nil {
		return err
	}
	if h.Waiting, err = s.store.waitingReply(ctx, s.db, actor.OrgID, HomeLimit); err != nil {
		return err
	}
	h.Unread, err = s.store.unread(ctx, s.db, actor.OrgID, actor.UserID, HomeLimit)
	return err
}

func (s *Service) buyerHome(ctx context.Context, actor member.Actor, h *Home) error {
	var err error
	if h.Requests, err = s.store.openRequests(ctx, s.db, actor.OrgID, HomeLimit); err != nil {
		return err
	}
	if h.FollowUps, err = s.store.followUpsDue(ctx, s.db, actor.OrgID, HomeLimit); err != nil {
		return err
	}
	if h.Drafts, err = s.store.drafts(ctx, s.db, actor.OrgID, HomeLimit); err != nil {
		return err
	}
	h.Unread, err = s.store.unread(ctx, s.db, actor.OrgID, actor.UserID, HomeLimit)
	return err
}
