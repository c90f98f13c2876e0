package server

import (
	"slices"
	"strings"

	"passerelle/internal/coach"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/purchase"
	"passerelle/web/components"
)

// The request coach as its buyer and staff read it: on the request form
// while writing, on the request's page, after the deadline.

// coachView renders the coach's findings, and after the deadline what
// happened and the suggestion for next time.
func coachView(l *i18n.Localizer, findings []coach.Finding, after *coach.Aftermath, next *coach.Finding) *components.Coach {
	c := &components.Coach{Title: l.T("coach.title"), Lead: l.T("coach.lead"), ChangeTitle: l.T("coach.change_title"),
		GoodTitle: l.T("coach.good_title")}
	for _, f := range findings {
		if f.Change {
			c.Change = append(c.Change, coachNote(l, f))
		} else {
			c.Good = append(c.Good, coachNote(l, f))
		}
	}
	if after != nil {
		c.AfterTitle, c.After = l.T("coach.after_title"), aftermathText(l, *after)
	}
	if next != nil {
		n := coachNote(l, *next)
		c.Next = &n
	}
	return c
}

// coachNote is one finding as a sentence with its source.
func coachNote(l *i18n.Localizer, f coach.Finding) components.CoachNote {
	id, args := f.Message()
	n := components.CoachNote{Code: f.Code, Text: l.T(id, moneyArgs(l, args)...)}
	if id, args := f.Cited(); id != "" {
		n.Source = l.T(id, args...)
	}
	return n
}

// moneyArgs formats a sentence's amounts (int64 values) as money.
func moneyArgs(l *i18n.Localizer, args []any) []any {
	out := slices.Clone(args)
	for i, v := range out {
		if n, ok := v.(int64); ok {
			out[i] = l.Money(n)
		}
	}
	return out
}

// aftermathText says what happened to a request: seen, interested, not
// interested and why.
func aftermathText(l *i18n.Localizer, a coach.Aftermath) string {
	s := l.T("coach.aftermath", "Invited", a.Invited, "Seen", a.Seen, "Interested", a.Interested, "NotInterested", a.NotInterested)
	if len(a.Reasons) > 0 {
		var parts []string
		for _, r := range a.Reasons {
			parts = append(parts, l.T("coach.reason_count", "Reason", l.T("request.reason."+r.Reason), "Count", r.N))
		}
		s += " " + l.T("coach.reasons", "List", strings.Join(parts, " ; "))
	}
	return s
}

// requestCoach is the coach's reading on a request's page.
func requestCoach(l *i18n.Localizer, p purchase.Page) *components.Coach {
	if p.Review == nil {
		return nil
	}
	return coachView(l, p.Review.Findings, p.Review.Aftermath, p.Review.Next)
}
