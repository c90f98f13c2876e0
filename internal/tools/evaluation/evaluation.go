// Package evaluation measures the matching service on real public
// contracts: a history of awarded contracts and a directory of suppliers
// are loaded through the platform's importer (each winner and directory
// entry an SME, each contract a reference of its winners), then each query
// contract is treated as a purchase request and every SME ranked by the
// same service the platform uses, beside three baselines measured in the
// same run. Without a query file each history contract is a query in turn,
// left out of its winners' references while it is (leave-one-out).
package evaluation

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"

	"passerelle/internal/matching"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/importer"
)

// Metrics are the ranking measures of one method on one set of queries.
type Metrics struct {
	N   int     `json:"n"`
	R1  float64 `json:"r1"`
	R10 float64 `json:"r10"`
	R50 float64 `json:"r50"`
	MRR float64 `json:"mrr"`
}

// Sets are the measures on "warm" queries (a winner has another contract
// in the loaded history) and on all queries whose winner was loaded.
type Sets struct {
	Warm Metrics `json:"warm"`
	All  Metrics `json:"all"`
}

// Report is what an evaluation measured.
type Report struct {
	Matcher    Sets `json:"matcher"`
	Popularity Sets `json:"popularity"`
	Fulltext   Sets `json:"fulltext"`
	Hierarchy  Sets `json:"hierarchy"`
	// LongTail is the share of the matcher's top-10 hits whose winner is
	// not among the 100 most frequent winners of the history.
	LongTail float64 `json:"long_tail"`
	Queries  int     `json:"queries"`
	Loaded   importer.Stats
}

// Methods name the rankers, in the report's order.
var Methods = []string{"matcher", "popularity", "fulltext", "hierarchy"}

// Query is one contract to rank for.
type Query struct {
	Contract importer.Contract
	Request  matching.Request
	Winners  []int64 // the winners' organisations (loaded ones)
	Warm     bool
}

// Options are the inputs of a run.
type Options struct {
	History   []importer.Contract
	Directory []importer.Supplier
	Queries   []importer.Contract // none: leave-one-out on the history
	Weights   *matching.Weights   // none: the service's
	Progress  io.Writer           // progress bars; nil for none
}

// Load imports the history and the directory into db.
func Load(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, o Options) (importer.Stats, error) {
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(len(o.History)+len(o.Directory), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("loading suppliers and contracts"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(200*time.Millisecond))
	}
	return importer.Load(ctx, db, tax, o.Directory, o.History, func(done, total int) {
		if bar != nil {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		}
	})
}

// Prepare turns the query contracts into requests, with their loaded
// winners and whether they are warm.
func Prepare(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, o Options) ([]Query, error) {
	ids := map[string]int64{}
	rows, err := db.Query(ctx, `SELECT siren, id FROM organisations WHERE status = 'member' AND kind IN ('pme', 'eti')`)
	if err != nil {
		return nil, err
	}
	var siren string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&siren, &id}, func() error { ids[siren] = id; return nil }); err != nil {
		return nil, err
	}
	wins := map[string]int{}
	for _, c := range o.History {
		for _, w := range c.Winners {
			wins[w]++
		}
	}
	loo := len(o.Queries) == 0
	queries := o.Queries
	if loo {
		queries = o.History
	}
	// Re-publications of a contract (the same buyer, object, code and
	// winners under another uid) are left out with it: they are not
	// past contracts.
	same := map[string][]string{}
	key := func(c importer.Contract) string {
		return c.BuyerSIRET + "|" + strings.ToLower(c.Object) + "|" + c.CPV + "|" + strings.Join(c.Winners, ",")
	}
	for _, c := range o.History {
		k := key(c)
		same[k] = append(same[k], c.UID)
	}
	var out []Query
	for _, c := range queries {
		q := Query{Contract: c, Request: RequestOf(tax, c)}
		republished := same[key(c)]
		for _, w := range c.Winners {
			if id, ok := ids[w]; ok {
				q.Winners = append(q.Winners, id)
			}
			other := wins[w]
			if loo {
				other -= len(republished) // the query and its re-publications are left out
			}
			q.Warm = q.Warm || other > 0
		}
		if loo {
			q.Request.EvalExclude = republished
		}
		out = append(out, q)
	}
	return out, nil
}

// RequestOf reads a contract as a purchase request.
func RequestOf(tax *taxonomy.Taxonomy, c importer.Contract) matching.Request {
	r := matching.Request{CPV: []string{c.CPV}, Departement: c.Departement, Text: c.Object, BuyerSIREN: c.BuyerSIRET[:min(9, len(c.BuyerSIRET))], BuyerName: c.BuyerName}
	if d, ok := tax.Departement(c.Departement); ok {
		r.Region = d.RegionCode
	}
	return r
}

// Ranks are, for one query, the rank of the first true winner by each
// method (0: not ranked), and the matcher's top 10.
type Ranks struct {
	Query   int
	ByIndex [4]int
	Top10   []int64
	Cases   []Case // the candidates' features, for fitting
}

// Case is one candidate of a query, for fitting: its features and
// whether it won.
type Case struct {
	F   matching.Features
	Won bool
}

// Rank ranks every query with the matcher and the baselines; keep keeps
// the candidates' features (the best keep by the matcher, and the
// winners) for fitting.
func Rank(ctx context.Context, svc *matching.Service, queries []Query, w matching.Weights, keep int, progress io.Writer) ([]Ranks, error) {
	out := make([]Ranks, len(queries))
	var bar *progressbar.ProgressBar
	if progress != nil {
		bar = progressbar.NewOptions(len(queries), progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("ranking"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(200*time.Millisecond))
	}
	platform := svc.Platform(w)
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(2, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := rankOne(ctx, svc, platform, queries[i], w, keep)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				r.Query = i
				out[i] = r
				if bar != nil {
					_ = bar.Add(1)
				}
			}
		}()
	}
	for i := range queries {
		select {
		case err := <-errs:
			close(next)
			wg.Wait()
			return nil, err
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return out, nil
}

func rankOne(ctx context.Context, svc, platform *matching.Service, q Query, w matching.Weights, keep int) (Ranks, error) {
	var r Ranks
	// The baselines read every contract of the divisions (exhaustive);
	// the matcher ranks what the platform's service reads.
	ev, err := svc.Evidence(ctx, q.Request)
	if err != nil {
		return r, err
	}
	mine, err := platform.Evidence(ctx, q.Request)
	if err != nil {
		return r, err
	}
	year := q.Contract.Year
	won := func(id int64) bool { return slices.Contains(q.Winners, id) }
	scores := [4]func(e matching.Evidence) float64{
		func(e matching.Evidence) float64 { return matching.Score(matching.FeaturesOf(e, q.Request, year), w) },
		Popularity,
		func(e matching.Evidence) float64 { return e.Text },
		Hierarchy,
	}
	for m, score := range scores {
		from := ev
		if m == 0 {
			from = mine
		}
		ranked := rankBy(from, score)
		for i, e := range ranked {
			if won(e.OrgID) {
				r.ByIndex[m] = i + 1
				break
			}
		}
		if m == 0 {
			for i := 0; i < len(ranked) && i < 10; i++ {
				r.Top10 = append(r.Top10, ranked[i].OrgID)
			}
			if keep > 0 {
				for i, e := range ranked {
					if i < keep || won(e.OrgID) {
						r.Cases = append(r.Cases, Case{F: matching.FeaturesOf(e, q.Request, year), Won: won(e.OrgID)})
					}
				}
			}
		}
	}
	return r, nil
}

// rankBy sorts the evidence by a score, best first, keeping only positive
// scores (an SME with no evidence at all is not ranked); ties go to the
// lower id.
func rankBy(ev []matching.Evidence, score func(matching.Evidence) float64) []matching.Evidence {
	type scored struct {
		e matching.Evidence
		s float64
	}
	list := make([]scored, 0, len(ev))
	for _, e := range ev {
		if s := score(e); s > 0 {
			list = append(list, scored{e, s})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].s != list[j].s {
			return list[i].s > list[j].s
		}
		return list[i].e.OrgID < list[j].e.OrgID
	})
	out := make([]matching.Evidence, len(list))
	for i, x := range list {
		out[i] = x.e
	}
	return out
}

// Popularity is the first baseline: the most frequent winner in the same
// CPV division and département (ties: in the division anywhere).
func Popularity(e matching.Evidence) float64 {
	return float64(e.RefsAtDep[matching.LevelDivision]) + float64(e.RefsAt[matching.LevelDivision])/1e6
}

// Hierarchy is the third baseline, "hierarchical popularity": Σ log(1+n)
// over the counts of past contracts sharing the request's code at each
// level (division, group, class, category, exact code), overall and again
// within the request's département, plus the count of past contracts with
// the same buyer, all with weight 1.
func Hierarchy(e matching.Evidence) float64 {
	s := float64(e.SameBuyer)
	for lvl := matching.LevelDivision; lvl <= matching.LevelExact; lvl++ {
		s += math.Log1p(float64(e.RefsAt[lvl])) + math.Log1p(float64(e.RefsAtDep[lvl]))
	}
	return s
}

// Measure computes the report of ranked queries; top100 are the 100 most
// frequent winners of the history.
func Measure(queries []Query, ranks []Ranks, top100 map[int64]bool) Report {
	var rep Report
	sets := [4]*Sets{&rep.Matcher, &rep.Popularity, &rep.Fulltext, &rep.Hierarchy}
	var hits, tail int
	for m := range sets {
		var warm, all []int
		for i, q := range queries {
			if len(q.Winners) == 0 {
				continue // its winner was never loaded
			}
			all = append(all, ranks[i].ByIndex[m])
			if q.Warm {
				warm = append(warm, ranks[i].ByIndex[m])
			}
			if m == 0 && ranks[i].ByIndex[0] >= 1 && ranks[i].ByIndex[0] <= 10 {
				hits++
				if !top100[ranks[i].Top10[ranks[i].ByIndex[0]-1]] {
					tail++
				}
			}
		}
		sets[m].Warm, sets[m].All = metrics(warm), metrics(all)
	}
	if hits > 0 {
		rep.LongTail = float64(tail) / float64(hits)
	}
	rep.Queries = len(queries)
	return rep
}

func metrics(ranks []int) Metrics {
	m := Metrics{N: len(ranks)}
	if m.N == 0 {
		return m
	}
	for _, r := range ranks {
		if r == 0 {
			continue
		}
		m.MRR += 1 / float64(r)
		if r <= 1 {
			m.R1++
		}
		if r <= 10 {
			m.R10++
		}
		if r <= 50 {
			m.R50++
		}
	}
	n := float64(m.N)
	m.R1, m.R10, m.R50, m.MRR = m.R1/n, m.R10/n, m.R50/n, m.MRR/n
	return m
}

// TopWinners are the organisations of the n most frequent winners of the
// history.
func TopWinners(ctx context.Context, db *pgxpool.Pool, history []importer.Contract, n int) (map[int64]bool, error) {
	count := map[string]int{}
	for _, c := range history {
		for _, w := range c.Winners {
			count[w]++
		}
	}
	sirens := make([]string, 0, len(count))
	for s := range count {
		sirens = append(sirens, s)
	}
	sort.Slice(sirens, func(i, j int) bool {
		if count[sirens[i]] != count[sirens[j]] {
			return count[sirens[i]] > count[sirens[j]]
		}
		return sirens[i] < sirens[j]
	})
	sirens = sirens[:min(n, len(sirens))]
	rows, err := db.Query(ctx, `SELECT id FROM organisations WHERE siren = ANY($1)`, sirens)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil })
	return out, err
}

// Print writes the report as a table.
func Print(w io.Writer, rep Report) {
	fmt.Fprintf(w, "%-11s %-5s %6s %7s %7s %7s %7s\n", "method", "set", "n", "R@1", "R@10", "R@50", "MRR")
	for i, s := range []Sets{rep.Matcher, rep.Popularity, rep.Fulltext, rep.Hierarchy} {
		for _, x := range []struct {
			name string
			m    Metrics
		}{{"warm", s.Warm}, {"all", s.All}} {
			fmt.Fprintf(w, "%-11s %-5s %6d %7.3f %7.3f %7.3f %7.3f\n", Methods[i], x.name, x.m.N, x.m.R1, x.m.R10, x.m.R50, x.m.MRR)
		}
	}
	fmt.Fprintf(w, "matcher top-10 hits outside the 100 most frequent winners: %.1f %%\n", rep.LongTail*100)
}
