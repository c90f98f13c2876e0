package coach

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Service measures the norms on the platform's past requests and reads
// what happened to a request after its deadline, from the loop's events.
type Service struct {
	db *pgxpool.Pool

	mu         sync.Mutex
	norms      Norms
	loadedAt   time.Time
	refreshing bool
}

// NewService returns the coach over the platform's database.
func NewService(db *pgxpool.Pool) *Service { return &Service{db: db} }

// NormsTTL is how long measured norms are kept before they are measured
// again: they move with months of requests, not minutes.
const NormsTTL = time.Hour

// NormsWindow is how far back the norms read requests: today's habits,
// and a bounded read.
const NormsWindow = 2 * 365 * 24 * time.Hour

// Norms are the thresholds measured on the requests whose deadline passed
// within NormsWindow. The first call measures them; later, once older
// than NormsTTL, they are measured again in the background while pages
// keep reading the previous ones: no reader waits on the measure.
func (s *Service) Norms(ctx context.Context) (Norms, error) {
	s.mu.Lock()
	loaded, stale := !s.loadedAt.IsZero(), time.Since(s.loadedAt) >= NormsTTL
	if loaded && stale && !s.refreshing {
		s.refreshing = true
		go s.refresh()
	}
	n := s.norms
	s.mu.Unlock()
	if loaded {
		return n, nil
	}
	n, err := s.measure(ctx)
	if err != nil {
		return Norms{}, err
	}
	s.mu.Lock()
	s.norms, s.loadedAt = n, time.Now()
	s.mu.Unlock()
	return n, nil
}

// refresh measures the norms again; on failure the previous ones stay
// another NormsTTL.
func (s *Service) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := s.measure(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.norms = n
	}
	s.loadedAt, s.refreshing = time.Now(), false
}

// measure reads every published request whose deadline passed within the
// window: days given, questions, SMEs that saw it and that were interested.
func (s *Service) measure(ctx context.Context) (Norms, error) {
	rows, err := s.db.Query(ctx, `SELECT (r.deadline - r.published_at::date)::int, cardinality(r.questions),
			count(*) FILTER (WHERE m.viewed_at IS NOT NULL OR m.answered_at IS NOT NULL)::int,
			count(*) FILTER (WHERE m.answered_at IS NOT NULL AND m.state <> 'not_interested')::int
		FROM purchase_requests r LEFT JOIN request_matches m ON m.request_id = r.id
		WHERE r.published_at IS NOT NULL AND r.deadline < current_date AND r.deadline >= current_date - $1::int
			AND r.status IN ('open', 'closed')
		GROUP BY r.id`, int(NormsWindow.Hours()/24))
	if err != nil {
		return Norms{}, fmt.Errorf("coach: norms: %w", err)
	}
	obs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Observation])
	if err != nil {
		return Norms{}, fmt.Errorf("coach: norms: %w", err)
	}
	return Measure(obs), nil
}

// Aftermath is what happened to a request, as its events and the SMEs'
// answers say: how many SMEs were told of it, saw it, said they were
// interested or not, and why not.
type Aftermath struct {
	Invited, Seen, Interested, NotInterested int
	Reasons                                  []Count // why not interested, most frequent first
}

// Count is a reason with how many SMEs gave it.
type Count struct {
	Reason string
	N      int
}

// Aftermath reads request id's events: each SME counted once per step.
func (s *Service) Aftermath(ctx context.Context, id int64) (Aftermath, error) {
	var a Aftermath
	err := s.db.QueryRow(ctx, `SELECT
			count(DISTINCT organisation_id) FILTER (WHERE kind = 'invited'),
			count(DISTINCT organisation_id) FILTER (WHERE kind = 'viewed'),
			count(DISTINCT organisation_id) FILTER (WHERE kind = 'interested'),
			count(DISTINCT organisation_id) FILTER (WHERE kind = 'not_interested')
		FROM request_events WHERE request_id = $1`, id).Scan(&a.Invited, &a.Seen, &a.Interested, &a.NotInterested)
	if err != nil {
		return a, fmt.Errorf("coach: aftermath %d: %w", id, err)
	}
	// The reasons of the SMEs whose last word was "not interested".
	rows, err := s.db.Query(ctx, `SELECT m.sme_reason, count(*)::int FROM request_matches m
		WHERE m.request_id = $1 AND m.state = 'not_interested' AND m.sme_reason <> ''
		GROUP BY 1 ORDER BY 2 DESC, 1`, id)
	if err != nil {
		return a, fmt.Errorf("coach: aftermath %d: %w", id, err)
	}
	a.Reasons, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Count])
	if err != nil {
		return a, fmt.Errorf("coach: aftermath %d: %w", id, err)
	}
	return a, nil
}

// Next-time suggestions, from what happened.
const (
	NextLongerDeadline = "next_longer_deadline"
	NextNarrower       = "next_narrower"
	NextBudget         = "next_budget"
	NextPlaces         = "next_places"
	NextSmallerLots    = "next_smaller_lots"
	NextVisibility     = "next_visibility"
	NextFewerQuestions = "next_fewer_questions"
	NextClearerText    = "next_clearer_text"
	NextKeep           = "next_keep"
)

// NextCodes are every suggestion code, for the catalogue's tests.
var NextCodes = []string{NextLongerDeadline, NextNarrower, NextBudget, NextPlaces, NextSmallerLots, NextVisibility,
	NextFewerQuestions, NextClearerText, NextKeep}

// byReason is the suggestion for the most given "not interested" reason.
var byReason = map[string]string{"deadline": NextLongerDeadline, "scope": NextNarrower, "budget": NextBudget,
	"place": NextPlaces, "capacity": NextSmallerLots}

// Suggest is the one concrete suggestion for the buyer's next request,
// from what happened to this one: the reason SMEs gave most for not
// answering (when at least two gave it), else why nobody answered (nobody
// saw it; too many questions; a text to sharpen), else what to keep.
func Suggest(a Aftermath, d Draft, n Norms) Finding {
	f := Finding{Values: map[string]any{"Seen": a.Seen, "Interested": a.Interested, "NotInterested": a.NotInterested}}
	if len(a.Reasons) > 0 && a.Reasons[0].N >= 2 && byReason[a.Reasons[0].Reason] != "" {
		top := a.Reasons[0]
		f.Code, f.Change = byReason[top.Reason], true
		f.Values["Count"] = top.N
		if top.Reason == "deadline" {
			min, src := n.MinDays(d.BudgetBand)
			f.Values["Days"], f.Values["Min"], f.Source = d.Days(), max(min, d.Days()+7), src
		}
		return f
	}
	max, src := n.MaxQuestions()
	switch {
	case a.Seen == 0:
		f.Code, f.Change = NextVisibility, true
	case a.Interested > 0:
		f.Code = NextKeep
	case d.Questions > max:
		f.Code, f.Change, f.Source = NextFewerQuestions, true, src
		f.Values["Count"], f.Values["Max"] = d.Questions, max
	default:
		f.Code, f.Change = NextClearerText, true
	}
	return f
}
