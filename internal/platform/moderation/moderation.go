// Package moderation is the staff's review of what members publish, over
// every kind of content (offers now, purchase requests next): one queue,
// oldest first, showing each item in full; the same two decisions
// (publish, or send back with a reason the author reads); the same audit
// entry and notification. A domain adds a kind of content by declaring it
// (DeclareKind) and registering a Content with the Service.
//
// Staff decide on the version they read: an item changed after the queue
// was shown is refused with ErrChanged, so nothing is published that
// nobody reviewed.
package moderation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/validate"
)

// Kind names a kind of moderated content and its audit actions.
type Kind struct {
	Name     string       // "offer": in URLs, messages ("moderation.kind.offer") and mails ("offer_published")
	Approved audit.Action // "<name>.approved"
	SentBack audit.Action // "<name>.sent_back"
}

// DeclareKind declares a kind of content and its audit actions; call it
// once, from the owning domain's package variables.
func DeclareKind(name string) Kind {
	return Kind{Name: name, Approved: audit.Declare(name + ".approved"), SentBack: audit.Declare(name + ".sent_back")}
}

// Field is one part of an item's content, shown in full to the reviewer.
type Field struct {
	Label  string   // catalogue id of the label
	Text   string   // free text, shown whole
	Value  string   // catalogue id of a value chosen from a list (a kind, a level), shown translated
	CPV    []string // CPV codes, shown with their labels
	Places []string // place keys ("reg:84", "dep:69"), shown by name
	// Message is a sentence of the catalogue with its values (pairs), and
	// Cited where it comes from: a note on the content (the request
	// coach's findings).
	Message, Cited  string
	Args, CitedArgs []any
}

// Item is one piece of content waiting for review.
type Item struct {
	Kind        string
	ID          int64
	Version     int64 // changes whenever the content changes
	OrgID       int64
	OrgName     string
	Title       string
	SubmittedAt time.Time
	Fields      []Field
}

// Decided is what a decision needs to tell the author.
type Decided struct {
	OrgID int64
	Title string
	Path  string // where the author follows their content, for the mail
}

// AnyVersion decides on the item as it is now (commands and tests; the
// staff page always sends the version it showed).
const AnyVersion int64 = 0

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Content is a kind of content under review, registered by its domain.
type Content interface {
	Kind() Kind
	// Waiting returns the first limit items waiting for review, oldest
	// first, and how many wait in all.
	Waiting(ctx context.Context, q Querier, limit int) ([]Item, int, error)
	// Decide publishes the item or sends it back with reason, inside tx,
	// if it still waits at version: ErrNotFound, ErrNotWaiting or
	// ErrChanged otherwise. It keeps the domain's derived data (search)
	// in step.
	Decide(ctx context.Context, tx pgx.Tx, id, version int64, publish bool, reason string) (Decided, error)
}

// Moderator is who decides: staff, recorded in the audit log.
type Moderator interface {
	IsStaff() bool
	AuditEntry(action audit.Action, orgID int64, target, reason string) audit.Entry
}

// Notifier tells an organisation's users, inside the decision's transaction.
type Notifier interface {
	Organisation(ctx context.Context, tx pgx.Tx, orgID int64, cat notify.Category, kind string, kv ...any) error
	BaseURL() string
}

// Category is the mails that tell authors of staff's decisions; users may
// turn them off.
var Category = notify.Declare("moderation")

// Named errors.
var (
	ErrForbidden   = errors.New("moderation: forbidden")
	ErrUnknownKind = errors.New("moderation: unknown kind of content")
	ErrNotFound    = errors.New("moderation: not found")
	ErrNotWaiting  = errors.New("moderation: no longer waiting for review")
	ErrChanged     = errors.New("moderation: changed since it was shown")
)

// ValidationError holds the field errors of a decision (the reason).
type ValidationError = validate.Error

// Decision is staff's choice on an item.
type Decision string

// The two decisions.
const (
	Publish  Decision = "publish"
	SendBack Decision = "send_back"
)

// Decide applies a decision on one item of content c: the change, its
// audit entry and the author's notification in one transaction. notifier
// may be nil (no mail).
func Decide(ctx context.Context, db *pgxpool.Pool, notifier Notifier, c Content, m Moderator, id, version int64, d Decision, reason string) error {
	if !m.IsStaff() {
		return ErrForbidden
	}
	if d != Publish && d != SendBack {
		return fmt.Errorf("moderation: unknown decision %q", d)
	}
	reason = validate.Clean(reason)
	errs := validate.Errors{}
	if d == Publish {
		errs.MaxLen("reason", reason, 1000)
	} else {
		errs.Required("reason", reason, 1000)
	}
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	kind := c.Kind()
	action, mail := kind.Approved, kind.Name+"_published"
	if d == SendBack {
		action, mail = kind.SentBack, kind.Name+"_sent_back"
	}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		done, err := c.Decide(ctx, tx, id, version, d == Publish, reason)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, m.AuditEntry(action, done.OrgID, done.Title, reason)); err != nil {
			return err
		}
		if notifier == nil {
			return nil
		}
		return notifier.Organisation(ctx, tx, done.OrgID, Category, mail, "Title", done.Title, "Reason", reason,
			"URL", notifier.BaseURL()+done.Path)
	})
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrNotWaiting), errors.Is(err, ErrChanged):
		return err
	}
	return fmt.Errorf("moderation: %s %s %d: %w", d, kind.Name, id, err)
}

// PageSize is the number of items on a page of the queue.
const PageSize = 50

// Service is the one staff queue over every registered kind of content.
type Service struct {
	db       *pgxpool.Pool
	notify   Notifier
	contents []Content
}

// NewService returns a queue with no content yet; notify may be nil.
func NewService(db *pgxpool.Pool, notify Notifier) *Service {
	return &Service{db: db, notify: notify}
}

// Register adds a kind of content to the queue.
func (s *Service) Register(c Content) {
	if _, ok := s.content(c.Kind().Name); ok {
		panic("moderation: kind registered twice: " + c.Kind().Name)
	}
	s.contents = append(s.contents, c)
}

func (s *Service) content(kind string) (Content, bool) {
	for _, c := range s.contents {
		if c.Kind().Name == kind {
			return c, true
		}
	}
	return nil, false
}

// Queue returns a page of the items waiting, every kind together, oldest
// first, with the total.
func (s *Service) Queue(ctx context.Context, m Moderator, page int) ([]Item, int, error) {
	if !m.IsStaff() {
		return nil, 0, ErrForbidden
	}
	// Merging kinds by age needs the first page×50 items of each kind: the
	// page asked for is bounded by the number of pages there are, so a
	// made-up ?page=100000 reads no more than the last page does.
	total := 0
	for _, c := range s.contents {
		_, n, err := c.Waiting(ctx, s.db, 0)
		if err != nil {
			return nil, 0, fmt.Errorf("moderation: queue of %s: %w", c.Kind().Name, err)
		}
		total += n
	}
	page = min(max(page, 1), max((total+PageSize-1)/PageSize, 1))
	var all []Item
	for _, c := range s.contents {
		items, _, err := c.Waiting(ctx, s.db, page*PageSize)
		if err != nil {
			return nil, 0, fmt.Errorf("moderation: queue of %s: %w", c.Kind().Name, err)
		}
		all = append(all, items...)
	}
	slices.SortFunc(all, func(a, b Item) int {
		return cmp.Or(a.SubmittedAt.Compare(b.SubmittedAt), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	from := min((page-1)*PageSize, len(all))
	return all[from:min(from+PageSize, len(all))], total, nil
}

// Waiting is how much of one kind waits for review, and since when.
type Waiting struct {
	Kind   string
	Count  int
	Oldest time.Time // zero when nothing waits
}

// Summary is, for each kind, how many items wait and the oldest one's
// submission: the staff home page's queues with their ages.
func (s *Service) Summary(ctx context.Context, m Moderator) ([]Waiting, error) {
	if !m.IsStaff() {
		return nil, ErrForbidden
	}
	var out []Waiting
	for _, c := range s.contents {
		items, n, err := c.Waiting(ctx, s.db, 1)
		if err != nil {
			return nil, fmt.Errorf("moderation: summary of %s: %w", c.Kind().Name, err)
		}
		w := Waiting{Kind: c.Kind().Name, Count: n}
		if len(items) > 0 {
			w.Oldest = items[0].SubmittedAt
		}
		out = append(out, w)
	}
	return out, nil
}

// Decide applies staff's decision on the item of that kind, at the version
// they were shown.
func (s *Service) Decide(ctx context.Context, m Moderator, kind string, id, version int64, d Decision, reason string) error {
	c, ok := s.content(kind)
	if !ok {
		return ErrUnknownKind
	}
	return Decide(ctx, s.db, s.notify, c, m, id, version, d, reason)
}
