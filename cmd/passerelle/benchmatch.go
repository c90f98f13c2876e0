package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"passerelle/internal/matching"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/evaluation"
)

// benchMatching times the ranking of requests at the benchmark
// database's scale: n real DECP contracts read as requests, each ranked
// one at a time against every SME, beside the baseline query.
func benchMatching(ctx context.Context, url string, n int, memory bool, out io.Writer, stderr io.Writer) error {
	tax, err := taxonomy.Load()
	if err != nil {
		return err
	}
	contracts, err := readContracts("internal/platform/refdata/data/decp_history.csv")
	if err != nil {
		return err
	}
	var requests []matching.Request
	for i := 0; i < len(contracts) && len(requests) < n; i += max(1, len(contracts)/n) {
		if c := contracts[i]; c.Departement != "" {
			requests = append(requests, evaluation.RequestOf(tax, c))
		}
	}
	pool, err := postgres.OpenWith(ctx, url, postgres.ServerPool("passerelle-bench-matching", 0))
	if err != nil {
		return err
	}
	defer pool.Close()
	var orgs, refs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM organisations), (SELECT count(*) FROM org_references) + (SELECT count(*) FROM offers)`).
		Scan(&orgs, &refs); err != nil {
		return err
	}
	svc := matching.NewService(pool, tax)
	var memNote string
	if memory {
		fmt.Fprintln(stderr, "Loading the evidence held in memory…")
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		if err := svc.KeepInMemory(ctx); err != nil {
			return err
		}
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		o, r, x := svc.MemorySize()
		memNote = fmt.Sprintf("Evidence held in memory (`-memory`): %d organisations, %d past contracts and %d rows of listed offers (by région and category) loaded in %s; Go heap +%d MiB.\n\n",
			o, r, x, took.Round(100*time.Millisecond), (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>20)
	}
	fmt.Fprintf(stderr, "Ranking %d requests one at a time against %d organisations…\n", len(requests), orgs)
	rank, base, cands, steps, err := matching.BenchRequests(ctx, svc, requests, stderr)
	if err != nil {
		return err
	}
	slices.Sort(cands)
	fmt.Fprintf(out, "\n## Matching: ranking one request (%d organisations, %d offers and references)\n\n", orgs, refs)
	fmt.Fprintf(out, "%d requests (real DECP contracts: CPV code, département, object, buyer), one at a time; candidates scored per request: median %d, max %d.\n\n",
		len(requests), cands[len(cands)/2], cands[len(cands)-1])
	fmt.Fprint(out, memNote)
	fmt.Fprintln(out, "| work | p50 | p95 | p99 |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| baseline: the division's past contracts read (one indexed query) | %v | %v | %v |\n", base.Quantile(0.5), base.Quantile(0.95), base.Quantile(0.99))
	fmt.Fprintf(out, "| matching: evidence gathered, every candidate scored, top 100 explained | %v | %v | %v |\n", rank.Quantile(0.5), rank.Quantile(0.95), rank.Quantile(0.99))
	names := make([]string, 0, len(steps))
	for k := range steps {
		names = append(names, k)
	}
	slices.Sort(names)
	fmt.Fprintf(out, "\nIts steps (the six candidate searches run at once, each timed alone):\n\n| step | p50 | p95 | p99 |\n|---|---|---|---|\n")
	for _, k := range names {
		t := steps[k]
		fmt.Fprintf(out, "| %s | %v | %v | %v |\n", k, t.Quantile(0.5), t.Quantile(0.95), t.Quantile(0.99))
	}
	return nil
}
