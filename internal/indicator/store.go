package indicator

import "passerelle/internal/platform/postgres"

// store holds the package's SQL, one named method per statement, in
// store_*.go by what they read and write. The service decides who may do
// what and when; the store only runs it. Every figure is still computed
// by PostgreSQL, from the tables the other domains write.
type store struct{}

// dbtx is the pool or a transaction.
type dbtx = postgres.DB
