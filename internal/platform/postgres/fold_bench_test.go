package postgres_test

import (
	"context"
	"strings"
	"testing"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
)

// BenchmarkFrenchAnalysis measures what the French fold (fr_tsvector,
// fr_tsquery: migration 000006) costs PostgreSQL against the plain
// configuration it replaced (french_unaccent), on every real DECP contract
// object and CPV label: the documents once per iteration, and one query per
// word of those texts. Run by `make bench`; figures in docs/BENCHMARKS.md.
func BenchmarkFrenchAnalysis(b *testing.B) {
	pool := pgtest.Pool(b)
	ctx := context.Background()
	var docs, words []string
	seen := map[string]bool{}
	if err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		docs = append(docs, r["objet"], r["cpv_libelle_fr"])
		for _, w := range strings.Fields(r["objet"]) {
			if len(w) > 3 && !seen[w] && len(words) < 5000 {
				seen[w] = true
				words = append(words, w)
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, sql string }{
		{"documents/french_unaccent", `SELECT sum(length(to_tsvector('french_unaccent', d)::text)) FROM unnest($1::text[]) d`},
		{"documents/fr_tsvector", `SELECT sum(length(fr_tsvector(d)::text)) FROM unnest($1::text[]) d`},
		{"queries/french_unaccent", `SELECT sum(numnode(websearch_to_tsquery('french_unaccent', w))) FROM unnest($1::text[]) w`},
		{"queries/fr_tsquery", `SELECT sum(numnode(fr_tsquery(w))) FROM unnest($1::text[]) w`},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var n *int64
				arg := docs
				if strings.HasPrefix(c.name, "queries") {
					arg = words
				}
				if err := pool.QueryRow(ctx, c.sql, arg).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
			if strings.HasPrefix(c.name, "documents") {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(docs)), "ns/doc")
			} else {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(words)), "ns/query")
			}
		})
	}
}
