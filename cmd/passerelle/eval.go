package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/pgcluster"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/evaluation"
	"passerelle/internal/tools/importer"
)

// runEval measures the matching service on real public contracts (see
// internal/tools/evaluation). It finds or starts PostgreSQL as `make run` does
// and works in a database of its own, created afresh each run.
func runEval(ctx context.Context, cfg config.Config, args []string, evalURL string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	history := fs.String("history", "internal/platform/refdata/data/decp_history.csv", "awarded contracts loaded as references (DECP columns)")
	directory := fs.String("directory", "internal/platform/refdata/data/sirene_etablissements_decp_suppliers.csv", "suppliers loaded as SMEs (SIRENE columns)")
	queries := fs.String("queries", "", "contracts to rank for (DECP columns); none: leave-one-out on the history")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object, last")
	fit := fs.Bool("fit", false, "fit the weights on the older 70 % of the history (leave-one-out), measure them on the newer 30 %, write them to -weights")
	weightsPath := fs.String("weights", "internal/matching/weights.json", "where -fit writes the weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	tax, err := taxonomy.Load()
	if err != nil {
		return err
	}
	hist, err := readContracts(*history)
	if err != nil {
		return err
	}
	dir, err := readSuppliers(*directory)
	if err != nil {
		return err
	}
	var qs []importer.Contract
	if *queries != "" {
		if qs, err = readContracts(*queries); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "%d contracts in the history, %d suppliers in the directory, %d queries\n", len(hist), len(dir), len(qs))
	weights := matching.DefaultWeights()
	if *fit {
		older, newer := splitByDate(hist, 0.7)
		fmt.Fprintf(stderr, "fitting on %d older contracts (leave-one-out), measuring on %d newer ones (dates %s → %s)\n",
			len(older), len(newer), dateOf(older[len(older)-1]), dateOf(newer[len(newer)-1]))
		w, trained, err := fitWeights(ctx, cfg, evalURL, tax, older, dir, stderr)
		if err != nil {
			return err
		}
		rep, err := evaluate(ctx, cfg, evalURL, tax, evaluation.Options{History: older, Directory: dir, Queries: newer, Weights: &w, Progress: stderr}, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Time split: weights fitted on %d older contracts (training MRR %.3f), measured on %d newer ones\n",
			len(older), trained, len(newer))
		evaluation.Print(stdout, rep)
		b, _ := json.MarshalIndent(matching.WeightsFile{Weights: matching.MapOf(w),
			Fit: fmt.Sprintf("coordinate ascent on the MRR of %d older contracts (leave-one-out, training MRR %.3f); on %d newer ones: matcher MRR warm %.3f all %.3f, hierarchy warm %.3f all %.3f",
				len(older), trained, len(newer), rep.Matcher.Warm.MRR, rep.Matcher.All.MRR, rep.Hierarchy.Warm.MRR, rep.Hierarchy.All.MRR)}, "", "  ")
		if err := os.WriteFile(*weightsPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "weights written to %s\n", *weightsPath)
		weights = w
	}
	rep, err := evaluate(ctx, cfg, evalURL, tax, evaluation.Options{History: hist, Directory: dir, Queries: qs, Weights: &weights, Progress: stderr}, stderr)
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		fmt.Fprintf(stdout, "Leave-one-out on %d contracts of %s:\n", rep.Queries, *history)
	} else {
		fmt.Fprintf(stdout, "%d contracts of %s ranked against %s:\n", rep.Queries, *queries, *history)
	}
	evaluation.Print(stdout, rep)
	fmt.Fprintf(stdout, "(%s, in %s)\n", fmt.Sprintf("%d SMEs and %d references loaded", rep.Loaded.Organisations, rep.Loaded.References),
		time.Since(start).Round(time.Second))
	if *asJSON {
		b, err := json.Marshal(map[string]evaluation.Sets{"matcher": rep.Matcher, "popularity": rep.Popularity,
			"fulltext": rep.Fulltext, "hierarchy": rep.Hierarchy})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

func readContracts(path string) ([]importer.Contract, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadContracts(f)
}

func readSuppliers(path string) ([]importer.Supplier, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadSuppliers(f)
}

func dateOf(c importer.Contract) string {
	if c.Date == "" {
		return "undated"
	}
	return c.Date
}

// splitByDate keeps the older share of the contracts (undated ones count
// as oldest) apart from the newer.
func splitByDate(list []importer.Contract, share float64) (older, newer []importer.Contract) {
	q := make([]evaluation.Query, len(list))
	for i, c := range list {
		q[i].Contract = c
	}
	a, b := evaluation.TimeSplit(q, share)
	return evaluation.Contracts(q, a), evaluation.Contracts(q, b)
}

// freshDatabase is the evaluation's database, dropped and created again.
func freshDatabase(ctx context.Context, cfg config.Config, url string, stderr io.Writer) (*pgxpool.Pool, error) {
	const name = "passerelle_eval"
	if url == "" {
		c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Install: true, Log: stderr})
		if err != nil {
			return nil, err
		}
		admin, err := postgres.Open(ctx, c.URL("postgres"))
		if err != nil {
			return nil, err
		}
		_, err = admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		admin.Close()
		if err != nil {
			return nil, err
		}
		if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), name); err != nil {
			return nil, err
		}
		url = c.URL(name)
	} else {
		// A given database is emptied by going down and up again.
		if err := postgres.MigrateDown(url); err != nil {
			return nil, err
		}
	}
	if err := postgres.Migrate(url); err != nil {
		return nil, err
	}
	return postgres.Open(ctx, url)
}

// evaluate loads the history and directory into a fresh database and
// ranks the queries.
func evaluate(ctx context.Context, cfg config.Config, url string, tax *taxonomy.Taxonomy, o evaluation.Options, stderr io.Writer) (evaluation.Report, error) {
	pool, err := freshDatabase(ctx, cfg, url, stderr)
	if err != nil {
		return evaluation.Report{}, err
	}
	defer pool.Close()
	loaded, err := evaluation.Load(ctx, pool, tax, o)
	if err != nil {
		return evaluation.Report{}, err
	}
	queries, err := evaluation.Prepare(ctx, pool, tax, o)
	if err != nil {
		return evaluation.Report{}, err
	}
	svc := matching.NewService(pool, tax)
	svc.EvalExhaustive = true
	ranks, err := evaluation.Rank(ctx, svc, queries, *o.Weights, 0, o.Progress)
	if err != nil {
		return evaluation.Report{}, err
	}
	top, err := evaluation.TopWinners(ctx, pool, o.History, 100)
	if err != nil {
		return evaluation.Report{}, err
	}
	rep := evaluation.Measure(queries, ranks, top)
	rep.Loaded = loaded
	return rep, nil
}

// fitWeights fits the weights by leave-one-out on the contracts.
func fitWeights(ctx context.Context, cfg config.Config, url string, tax *taxonomy.Taxonomy, hist []importer.Contract, dir []importer.Supplier,
	stderr io.Writer) (matching.Weights, float64, error) {
	pool, err := freshDatabase(ctx, cfg, url, stderr)
	if err != nil {
		return matching.Weights{}, 0, err
	}
	defer pool.Close()
	o := evaluation.Options{History: hist, Directory: dir, Progress: stderr}
	if _, err := evaluation.Load(ctx, pool, tax, o); err != nil {
		return matching.Weights{}, 0, err
	}
	queries, err := evaluation.Prepare(ctx, pool, tax, o)
	if err != nil {
		return matching.Weights{}, 0, err
	}
	start := matching.DefaultWeights()
	svc := matching.NewService(pool, tax)
	svc.EvalExhaustive = true
	ranks, err := evaluation.Rank(ctx, svc, queries, start, 600, stderr)
	if err != nil {
		return matching.Weights{}, 0, err
	}
	all := make([]int, len(queries))
	for i := range all {
		all[i] = i
	}
	w, m := evaluation.Fit(ranks, all, start)
	return w, m, nil
}
