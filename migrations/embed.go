// Package migrations embeds the numbered SQL migrations applied by
// golang-migrate (`passerelle migrate`, `make run`, and every test database).
package migrations

import "embed"

// FS holds every *.up.sql and *.down.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
