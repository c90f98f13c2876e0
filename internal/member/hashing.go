package member

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/argon2id"
)

// ErrBusy says every password-hashing slot is taken: the caller answers
// 503 with Retry-After instead of piling up argon2 work (19 MiB each).
var ErrBusy = errors.New("member: too many password checks at once")

// DefaultHashSlots bounds concurrent password hashing per server.
const DefaultHashSlots = 8

// hashWait is how long a request waits for a hashing slot.
const hashWait = time.Second

// SetHashSlots bounds how many passwords this service hashes or checks at
// once (0 refuses every one: tests use it to see what needs hashing).
func (s *Service) SetHashSlots(n int) { s.hashSlots = make(chan struct{}, max(n, 0)) }

// withHashSlot runs fn in a hashing slot, or returns ErrBusy when none
// frees up in time.
func (s *Service) withHashSlot(ctx context.Context, fn func() error) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		defer func() { <-s.hashSlots }()
		return fn()
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hash hashes a password in a slot.
func (s *Service) hash(ctx context.Context, password string) (h string, err error) {
	err = s.withHashSlot(ctx, func() error {
		h, err = HashPassword(password)
		return err
	})
	return h, err
}

// compare checks a password against a hash in a slot.
func (s *Service) compare(ctx context.Context, password, hash string) (ok bool, err error) {
	err = s.withHashSlot(ctx, func() error {
		ok, err = argon2id.ComparePasswordAndHash(password, hash)
		return err
	})
	return ok, err
}
