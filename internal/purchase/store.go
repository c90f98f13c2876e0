package purchase

import "passerelle/internal/platform/postgres"

// store holds the package's SQL, one named method per statement (or per
// read that fills one value), in store_*.go by the tables they touch. The
// service decides what to run and when; the store only runs it.
type store struct{}

// dbtx is the pool or a transaction.
type dbtx = postgres.DB
