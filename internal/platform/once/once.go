// Package once makes the forms that create a row idempotent. Each such
// form carries a one-time token (New); the handler puts the posted token
// in the request's context (With); the service runs its writes through Do
// inside its transaction. The first transaction to commit with a token
// records what it created; any other submission of the token — a double
// click, concurrent or not, a client retrying after a lost answer, a
// replay after the server was killed — waits for it on the token's row
// and gets its result instead of writing a second row. A submission
// refused (field errors) rolls back with its token, so the corrected form
// goes through.
package once

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Field is the name of the token's hidden field in the forms.
const Field = "envoi"

type tokenKey struct{}

// New returns a fresh token for a form.
func New() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Of is the token a posted form carries, or a fresh one for a form shown
// for the first time: a form shown again with its errors keeps its token.
func Of(posted string) string {
	if valid(posted) {
		return posted
	}
	return New()
}

func valid(t string) bool {
	if len(t) < 16 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// With carries a posted token to the service; an absent or malformed one
// is no token (the submission is not deduplicated).
func With(ctx context.Context, token string) context.Context {
	if !valid(token) {
		return ctx
	}
	return context.WithValue(ctx, tokenKey{}, token)
}

// ErrOtherKind: the token was first used by another kind of form.
var ErrOtherKind = errors.New("once: token of another form")

// Do runs create, which writes in tx and returns the id of what it made
// (0 when there is none to point to), as the first submission of the
// context's token; a replay returns the first submission's id without
// running create. Without a token it only runs create.
func Do(ctx context.Context, tx pgx.Tx, kind string, create func() (int64, error)) (id int64, err error) {
	token, _ := ctx.Value(tokenKey{}).(string)
	if token == "" {
		return create()
	}
	// A concurrent first submission holds the row until it commits or
	// rolls back: this insert waits for it.
	tag, err := tx.Exec(ctx, `INSERT INTO form_submissions (token, kind) VALUES ($1, $2) ON CONFLICT (token) DO NOTHING`, token, kind)
	if err != nil {
		return 0, fmt.Errorf("once: claim: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var first string
		var prior *int64
		if err := tx.QueryRow(ctx, `SELECT kind, result_id FROM form_submissions WHERE token = $1`, token).Scan(&first, &prior); err != nil {
			return 0, fmt.Errorf("once: replay: %w", err)
		}
		if first != kind {
			return 0, ErrOtherKind
		}
		if prior != nil {
			return *prior, nil
		}
		return 0, nil
	}
	if id, err = create(); err != nil {
		return id, err
	}
	if id != 0 {
		if _, err := tx.Exec(ctx, `UPDATE form_submissions SET result_id = $2 WHERE token = $1`, token, id); err != nil {
			return 0, fmt.Errorf("once: record: %w", err)
		}
	}
	return id, nil
}

// Keep is how long a token's first result is kept: longer than anyone
// retries a form.
const Keep = 7 * 24 * time.Hour

// Prune forgets the tokens older than Keep.
func Prune(ctx context.Context, db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}) error {
	_, err := db.Exec(ctx, `DELETE FROM form_submissions WHERE created_at < now() - make_interval(secs => $1)`, Keep.Seconds())
	return err
}

// PruneArgs is the daily job that runs Prune.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "once.prune" }
