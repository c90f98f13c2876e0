// Package audit is the log of every moderation decision and change of
// status: who, what, when, why. Each domain declares its own action codes
// (Declare) and records entries inside the transaction of the change; the
// staff journal lists every declared action, translated as
// "audit.action.<code>".
package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/registry"
)

// Action is the code of one kind of audited event, such as "offer.approved".
type Action string

// MessageID is the catalogue id of the action's label.
func (a Action) MessageID() string { return "audit.action." + string(a) }

var actions = registry.New[Action]("audit action")

// Declare registers an action code of a domain; declaring a code twice is
// a programming error.
func Declare(code string) Action { return actions.Declare(Action(code)) }

// Actions lists every declared action, sorted by code.
func Actions() []Action {
	out := actions.All()
	slices.Sort(out)
	return out
}

// Known reports whether code is a declared action.
func Known(code string) bool { return actions.Has(Action(code)) }

// Entry is one event to record.
type Entry struct {
	ActorID      int64  // 0: the system, or a deleted account
	ActorName    string // shown as the author; empty: translated "deleted account"
	Action       Action
	OrgID        int64  // the organisation concerned, 0 if none
	Target       string // what the entry is about, as shown (an organisation, a title…)
	TargetUserID int64  // the user the entry is about, if any: their name is erased with them
	Reason       string
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Record writes e inside tx, so the entry exists if and only if the change
// it describes was committed.
func Record(ctx context.Context, tx pgx.Tx, e Entry) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_entries (actor_id, actor_label, action, organisation_id, target_label, target_user_id, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		nullable(e.ActorID), e.ActorName, string(e.Action), nullable(e.OrgID), e.Target, nullable(e.TargetUserID), e.Reason)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Forget removes a user's name from the log before the user is erased:
// the entries they wrote and the entries about them stay, without it.
func Forget(ctx context.Context, tx pgx.Tx, userID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE audit_entries SET actor_label = '' WHERE actor_id = $1`, userID); err != nil {
		return fmt.Errorf("audit: forget %d: %w", userID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE audit_entries SET target_label = '' WHERE target_user_id = $1`, userID); err != nil {
		return fmt.Errorf("audit: forget %d: %w", userID, err)
	}
	return nil
}

// Line is one entry read back.
type Line struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	ActorLabel  string    `json:"actor"` // empty once the actor's account is deleted
	Action      string    `json:"action"`
	OrgID       *int64    `json:"organisation_id"`
	TargetLabel string    `json:"target"`
	Reason      string    `json:"reason"`
}

// PageSize is the number of entries on one page of the journal.
const PageSize = 50

// Filter narrows the journal.
type Filter struct {
	Action string // a declared action, or empty for all
	Query  string // part of the actor or target label
	Page   int
}

// Viewer is who reads the journal.
type Viewer interface{ IsStaff() bool }

// ErrForbidden refuses the journal to anyone but staff.
var ErrForbidden = errors.New("audit: forbidden")

// Log reads the journal.
type Log struct{ db *pgxpool.Pool }

// NewLog returns the journal reader.
func NewLog(db *pgxpool.Pool) *Log { return &Log{db: db} }

const lineColumns = `id, at, actor_label, action, organisation_id, target_label, reason`

// List returns a page of entries for staff, newest first, with the total.
func (l *Log) List(ctx context.Context, v Viewer, f Filter) ([]Line, int, error) {
	if !v.IsStaff() {
		return nil, 0, ErrForbidden
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if !Known(f.Action) {
		f.Action = ""
	}
	rows, err := l.db.Query(ctx, `SELECT `+lineColumns+`, count(*) OVER ()
		FROM audit_entries
		WHERE ($1 = '' OR action = $1)
		  AND ($2 = '' OR actor_label ILIKE '%' || $2 || '%' OR target_label ILIKE '%' || $2 || '%')
		ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4`, f.Action, f.Query, PageSize, (f.Page-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Line, error) {
		var e Line
		err := r.Scan(&e.ID, &e.At, &e.ActorLabel, &e.Action, &e.OrgID, &e.TargetLabel, &e.Reason, &total)
		return e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	return list, total, nil
}

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ByActor returns the entries a user wrote, oldest first (their personal-data export).
func ByActor(ctx context.Context, q Querier, userID int64) ([]Line, error) {
	rows, err := q.Query(ctx, `SELECT `+lineColumns+` FROM audit_entries WHERE actor_id = $1 ORDER BY at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("audit: by actor: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Line])
}
