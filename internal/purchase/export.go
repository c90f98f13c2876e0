package purchase

import (
	"context"

	"passerelle/internal/member"
)

// Shortlist returns the SMEs a buyer kept for a request (shortlisted, in
// discussion, won), for the CSV export.
func (s *Service) Shortlist(ctx context.Context, actor member.Actor, id int64) (Request, []Match, error) {
	p, err := s.Get(ctx, actor, id)
	if err != nil {
		return Request{}, nil, err
	}
	if !p.Mine {
		return Request{}, nil, ErrNotFound
	}
	var kept []Match
	for _, m := range p.Answers {
		if m.State == StateShortlisted || m.State == StateDiscussion || m.State == StateWon {
			kept = append(kept, m)
		}
	}
	return p.Request, kept, nil
}
