package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/registers"
)

// runImport is `passerelle import sirene UNITES ETABLISSEMENTS` and
// `passerelle import decp FILE`: progress on stderr, the report as the
// last line of stdout (JSON), against DATABASE_URL or the private cluster
// (migrated first, as `passerelle migrate` does).
func runImport(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	usage := errors.New("import: want `import sirene UNITES ETABLISSEMENTS` or `import decp FILE`")
	if len(args) == 0 {
		return usage
	}
	if (args[0] == "sirene" && len(args) != 3) || (args[0] == "decp" && len(args) != 2) || (args[0] != "sirene" && args[0] != "decp") {
		return usage
	}
	url, err := databaseURL(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if err := postgres.Migrate(url); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	var rep registers.Report
	if args[0] == "sirene" {
		rep, err = registers.ImportSirene(ctx, pool, registers.FileSource(args[1]), registers.FileSource(args[2]), registers.Bar(stderr))
	} else {
		rep, err = registers.ImportDECP(ctx, pool, registers.FileSource(args[1]), registers.Bar(stderr))
	}
	if err != nil {
		return fmt.Errorf("import %s: %w (nothing was written)", args[0], err)
	}
	fmt.Fprintln(stdout, rep.JSON())
	return nil
}
