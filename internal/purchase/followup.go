package purchase

import (
	"context"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
)

// FollowUp records the buyer's answer to "what happened?" after the
// deadline: awarded to an SME of Passerelle or to someone else closes the
// request as awarded, cancelled closes it as cancelled, "not yet" keeps it
// open. It answers the question once (the mail's link is single use: a
// second answer is ErrInvalidState); the home page's task goes away.
// Awarded through Passerelle, the buyer also says whether it would have
// consulted the SMEs without it (counterfactual: yes, no, unsure), which
// the observatory counts as the platform's contribution.
func (s *Service) FollowUp(ctx context.Context, actor member.Actor, id int64, answer, counterfactual string) error {
	return s.followUp(ctx, actor, id, answer, counterfactual, false)
}

// ChangeFollowUp changes an answer already given, from the buyer's own
// page: an explicit edit, audited with the answer it replaces. It closes
// a request still open as FollowUp would.
func (s *Service) ChangeFollowUp(ctx context.Context, actor member.Actor, id int64, answer, counterfactual string) error {
	return s.followUp(ctx, actor, id, answer, counterfactual, true)
}

func (s *Service) followUp(ctx context.Context, actor member.Actor, id int64, answer, counterfactual string, change bool) error {
	errs := map[string]string{}
	if !contains(FollowUps, answer) {
		errs["answer"] = "form.choose"
	}
	var cf *string
	if answer == "passerelle" {
		if !contains(Counterfactuals, counterfactual) {
			errs["counterfactual"] = "request.counterfactual_required"
		}
		cf = &counterfactual
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if (r.Status != StatusOpen && r.Status != StatusClosed) || (r.FollowUp != nil) != change {
			return ErrInvalidState // a first answer given twice, or a change of none
		}
		if err := s.store.setFollowUp(ctx, tx, id, answer, cf, s.Now()); err != nil {
			return err
		}
		kind, action, detail := "follow_up_"+answer, ActionFollowUp, answer
		if change {
			kind, action, detail = "follow_up_changed", ActionFollowUpChanged, *r.FollowUp+" → "+answer
		}
		if err := s.event(ctx, tx, id, 0, kind, actor.UserID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(action, r.OrgID, r.Title, detail)); err != nil {
			return err
		}
		if r.Status != StatusOpen {
			return nil
		}
		switch answer {
		case "passerelle", "other":
			return s.close(ctx, tx, actor, r, "awarded")
		case "cancelled":
			return s.close(ctx, tx, actor, r, "cancelled")
		}
		return nil
	})
	return wrap("follow up", id, err)
}

// LinkActor is who acts through a verified link: its user, still in the
// organisation the link was written for, which must still be a member.
func (s *Service) LinkActor(ctx context.Context, l Link, byID func(context.Context, int64) (member.Actor, error)) (member.Actor, error) {
	a, err := byID(ctx, l.User)
	if err != nil || a.OrgID != l.Org {
		return member.Actor{}, ErrLinkInvalid
	}
	return a, nil
}
