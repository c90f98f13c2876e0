package matching

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"passerelle/internal/taxonomy"
)

//go:embed weights.json
var weightsFile []byte

// WeightsFile is the fitted weights as stored in weights.json, with how
// they were fitted.
type WeightsFile struct {
	Weights map[string]float64 `json:"weights"`
	Fit     string             `json:"fit"`
}

// DefaultWeights are the weights of weights.json (refitted by
// `passerelle eval -fit`). A file that does not name every feature, or
// names one that does not exist, stops the program at start: a feature
// silently weighed 0 would change the ranking without a word.
func DefaultWeights() Weights {
	w, err := ParseWeights(weightsFile)
	if err != nil {
		panic("matching: weights.json: " + err.Error())
	}
	return w
}

// ParseWeights reads a weights file; every feature must have a weight, and
// every weight a feature.
func ParseWeights(data []byte) (Weights, error) {
	var f WeightsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Weights{}, err
	}
	var w Weights
	var missing, unknown []string
	for i, name := range FeatureNames {
		x, ok := f.Weights[name]
		if !ok {
			missing = append(missing, name)
		}
		w[i] = x
	}
	for name := range f.Weights {
		if !slices.Contains(FeatureNames[:], name) {
			unknown = append(unknown, name)
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		slices.Sort(unknown)
		return Weights{}, fmt.Errorf("features without a weight %v, weights of no feature %v", missing, unknown)
	}
	return w, nil
}

// WeightsMap is weights by feature name.
type WeightsMap = map[string]float64

// MapOf names weights by feature.
func MapOf(w Weights) WeightsMap {
	m := WeightsMap{}
	for i, name := range FeatureNames {
		m[name] = w[i]
	}
	return m
}

// Service gathers the evidence of SMEs for requests from PostgreSQL alone
// (no in-memory index: a background job may run where none is built) and
// ranks them.
type Service struct {
	db  *pgxpool.Pool
	tax *taxonomy.Taxonomy
	// Weights score the evidence.
	Weights Weights
	// TextCandidates is how many SMEs the full-text search brings at most.
	TextCandidates int
	// AffinityCandidates is how many SMEs of affine activities in the
	// request's département are brought at most.
	AffinityCandidates int
	// EvalExhaustive is for the evaluation only: it reads every past contract of the request's divisions,
	// row by row, and ranks every reference by words. The evaluation sets
	// it, so that its baselines see every SME with a contract in the
	// division; the platform's ranking leaves it off: at national scale a
	// division holds a quarter of a million references, and the features
	// counted only there (ExhaustiveOnly) weigh nothing in the score.
	EvalExhaustive bool
	// ReferenceCandidates is how many SMEs the past contracts in the
	// request's CPV groups bring at most (those they weigh most for);
	// WordCandidates how many SMEs holding all the request's words;
	// TextBest how many of the first ranked get their words weighed.
	ReferenceCandidates, WordCandidates, TextBest int
	// Trace, when set, hears how long each step of a ranking took (the
	// benchmark's breakdown); it must be safe for concurrent use.
	Trace func(step string, d time.Duration)

	mu       sync.Mutex
	affinity *Affinity
	loadedAt time.Time
	keeper   atomic.Pointer[Keeper] // UseMemory: rankings read part of the evidence from memory
}

// NewService returns the service with the fitted weights.
func NewService(db *pgxpool.Pool, tax *taxonomy.Taxonomy) *Service {
	return &Service{db: db, tax: tax, Weights: DefaultWeights(), TextCandidates: 2000, AffinityCandidates: 2000,
		ReferenceCandidates: 3000, WordCandidates: 200, TextBest: 300}
}

// Platform is the service as the platform runs it (not exhaustive) on
// the same database, with the given weights: the evaluation ranks with it.
func (s *Service) Platform(w Weights) *Service {
	p := NewService(s.db, s.tax)
	p.Weights = w
	return p
}

// Affinity is how often companies of each activity (NAF) win contracts of
// each CPV division and group, learnt from every public contract of the
// DECP register (whoever won it) and the references on the platform.
type Affinity struct {
	counts map[string]int // "naf|72", "naf|722"
	totals map[string]int // by NAF
}

// Share is the share of contracts of activity naf that fall under prefix,
// smoothed so that a rare activity does not get a share of 1 from one
// contract; minus counts of the left-out contract.
func (a *Affinity) Share(naf, prefix string, minus int) float64 {
	if a == nil || naf == "" {
		return 0
	}
	c, t := a.counts[naf+"|"+prefix]-minus, a.totals[naf]-minus
	if c <= 0 || t <= 0 {
		return 0
	}
	return float64(c) / float64(t+3)
}

// SharesIn is every activity's Share of division and of group (none
// when group is ""), by NAF; an activity not in it has none.
func (a *Affinity) SharesIn(division, group string) map[string][2]float64 {
	if a == nil {
		return nil
	}
	out := make(map[string][2]float64, len(a.totals))
	for naf := range a.totals {
		sh := [2]float64{a.Share(naf, division, 0), 0}
		if group != "" {
			sh[1] = a.Share(naf, group, 0)
		}
		out[naf] = sh
	}
	return out
}

// Affine lists the activities whose share in a division is at least minShare,
// most affine first, at most limit of them: where a division holds a
// large part of all contracts (works, 45), most activities pass it, and
// the candidates they bring would be any SME of the département.
func (a *Affinity) Affine(division string, minShare float64, limit int) []string {
	type affine struct {
		naf   string
		share float64
	}
	var list []affine
	for naf := range a.totals {
		if sh := a.Share(naf, division, 0); sh >= minShare {
			list = append(list, affine{naf, sh})
		}
	}
	slices.SortFunc(list, func(x, y affine) int {
		if c := cmp.Compare(y.share, x.share); c != 0 {
			return c
		}
		return strings.Compare(x.naf, y.naf)
	})
	var out []string
	for _, x := range list[:min(len(list), limit)] {
		out = append(out, x.naf)
	}
	return out
}

// LoadAffinity reads the affinity from every reference (cached an hour;
// Reload forces it, after an import).
func (s *Service) LoadAffinity(ctx context.Context) (*Affinity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.affinity != nil && time.Since(s.loadedAt) < time.Hour {
		return s.affinity, nil
	}
	// Every supplier's public contracts feed it, member or not: the DECP
	// register's contracts by the winner's activity in SIRENE (counted by
	// each import: decp_affinity), plus the references members typed
	// themselves. Without a DECP register (the evaluation's database),
	// every reference counts.
	rows, err := s.db.Query(ctx, `WITH register AS (SELECT EXISTS (SELECT 1 FROM decp_contracts) AS loaded)
		SELECT g.naf_code, left(r.cpv_code, 3), count(*) FROM org_references r
		JOIN organisations g ON g.id = r.organisation_id, register
		WHERE g.naf_code <> '' AND (r.source <> 'decp' OR NOT register.loaded) GROUP BY 1, 2
		UNION ALL
		SELECT naf_code, cpv_group, contracts FROM decp_affinity`)
	if err != nil {
		return nil, fmt.Errorf("matching: affinity: %w", err)
	}
	a := &Affinity{counts: map[string]int{}, totals: map[string]int{}}
	var naf, group string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&naf, &group, &n}, func() error {
		a.counts[naf+"|"+group] += n
		a.counts[naf+"|"+group[:2]] += n
		a.totals[naf] += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("matching: affinity: %w", err)
	}
	s.affinity, s.loadedAt = a, time.Now()
	return a, nil
}

// Reload forgets the cached affinity.
func (s *Service) Reload() {
	s.mu.Lock()
	s.affinity = nil
	s.mu.Unlock()
}

const smeMember = `g.status = 'member' AND g.kind IN ('pme', 'eti')`

// Evidence gathers the candidates of a request and what the platform
// knows of each: never every SME one by one, but those the indexes bring,
// searched at once — past contracts in the request's CPV groups (the
// divisions when exhaustive) and in its divisions within its département,
// past contracts with its buyer, published offers in its categories,
// references holding its words, SMEs of affine activities in its
// département.
func (s *Service) Evidence(ctx context.Context, r Request) ([]Evidence, error) {
	aff, err := s.LoadAffinity(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	by := map[int64]*Evidence{}
	// get is the evidence of an SME, made on first sight. The searches run
	// at once, each writing its own fields.
	get := func(id int64) *Evidence {
		mu.Lock()
		defer mu.Unlock()
		e, ok := by[id]
		if !ok {
			e = &Evidence{OrgID: id}
			by[id] = e
		}
		return e
	}
	var divisions []string
	for _, c := range r.CPV {
		if len(c) == 8 && !containsString(divisions, c[:2]) {
			divisions = append(divisions, c[:2])
		}
	}
	if len(divisions) == 0 {
		return nil, nil
	}
	placeKeys := s.tax.PlaceKeys(requestPlaces(r))
	mem, err := s.inMemory(ctx, r)
	if err != nil {
		return nil, err
	}
	var worded []int64
	started := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	switch {
	case s.EvalExhaustive:
		g.Go(func() error { return s.divisionReferences(gctx, r, get) })
	case mem != nil:
		g.Go(s.timed("class contracts", func() error {
			mem.classReferences(r, s.Weights, s.ReferenceCandidates, get)
			return nil
		}))
		g.Go(s.timed("local contracts", func() error { return s.localReferences(gctx, r, get) }))
	default:
		g.Go(s.timed("class contracts", func() error { return s.classReferences(gctx, r, get) }))
		g.Go(s.timed("local contracts", func() error { return s.localReferences(gctx, r, get) }))
	}
	// Every past contract for this buyer.
	g.Go(s.timed("same buyer", func() error {
		if r.BuyerSIREN == "" {
			return nil
		}
		// Each of its contracts, with how close its object is to the
		// request's words (a buyer has a few hundred at most).
		rows, err := s.db.Query(gctx, `WITH q AS (SELECT `+wordsQuery("$3", "|")+` AS q)
			SELECT r.organisation_id, r.cpv_code, CASE WHEN numnode(q.q) = 0 THEN 0 ELSE ts_rank(fr_tsvector(r.object), q.q) END::float8
			FROM org_references r, q
			WHERE left(r.client_siret, 9) = $1 AND client_siret <> '' AND NOT r.source_uid = ANY($2)
			  AND ($4::bigint[] IS NULL OR r.organisation_id = ANY($4))`,
			r.BuyerSIREN, nonNil(r.EvalExclude), r.Text, r.Among)
		if err != nil {
			return fmt.Errorf("matching: same buyer: %w", err)
		}
		var org int64
		var code string
		var similar float64
		if _, err := pgx.ForEachRow(rows, []any{&org, &code, &similar}, func() error {
			e := get(org)
			e.SameBuyer++
			lvl := bestLevel(code, r.CPV)
			if lvl >= LevelDivision {
				e.SameBuyerDiv++
			}
			if lvl >= LevelClass {
				e.SameBuyerClass++
			}
			e.SimilarForBuyer = max(e.SimilarForBuyer, similar)
			return nil
		}); err != nil {
			return fmt.Errorf("matching: same buyer: %w", err)
		}
		return nil
	}))
	// Published offers in the categories, serving the request's region
	// when it has one (a category may hold tens of thousands of offers),
	// from the narrow copy kept by category (index-only), or from memory;
	// their titles are read for those shown only (details).
	// A row is an offer in one of the request's régions: its places share
	// one with the request's (sharesRegion) exactly when the request has
	// some. Its places are not read: a division holds up to 100,000 offers
	// a région, each row's places decoded for nothing.
	serves := len(placeRegions(placeKeys)) > 0
	offer := func(org, offerID int64, lvl, trl int) {
		e := get(org)
		if betterOffer(lvl, offerID, e.OfferLevel, e.OfferID) {
			e.OfferLevel, e.OfferID, e.OfferTRL = lvl, offerID, trl
		}
		if serves {
			e.ServesPlace = true
		}
	}
	g.Go(s.timed("offers", func() error {
		if mem != nil {
			mem.offers(r, s.offerRegions(placeKeys), offer)
			return nil
		}
		return s.offersFromSQL(gctx, r, placeKeys, offer)
	}))
	// References in the divisions sharing the request's words: when
	// exhaustive, any of them, ranked (the full-text baseline); otherwise
	// a few SMEs whose references hold all of them, the words of the
	// others being weighed after a first ranking (textOfBest).
	g.Go(s.timed("words", func() error {
		if strings.TrimSpace(r.Text) == "" {
			return nil
		}
		if s.EvalExhaustive {
			return s.rankedWords(gctx, r, divisions, func(org int64, rank float64) { get(org).Text = rank })
		}
		list, err := s.allWords(gctx, r, divisions)
		for _, org := range list {
			get(org)
		}
		worded = list
		return err
	}))
	// SMEs of affine activities in the request's département.
	g.Go(s.timed("affine trades", func() error {
		if r.Departement == "" {
			return nil
		}
		nafs := aff.Affine(divisions[0], 0.15, 30)
		if len(nafs) == 0 {
			return nil
		}
		rows, err := s.db.Query(gctx, `SELECT g.id FROM organisations g WHERE g.naf_code = ANY($1) AND g.departement = $2 AND `+smeMember+`
			  AND ($4::bigint[] IS NULL OR g.id = ANY($4))
			ORDER BY g.id LIMIT $3`, nafs, r.Departement, s.AffinityCandidates, r.Among)
		if err != nil {
			return fmt.Errorf("matching: affine SMEs: %w", err)
		}
		var org int64
		if _, err := pgx.ForEachRow(rows, []any{&org}, func() error { get(org); return nil }); err != nil {
			return fmt.Errorf("matching: affine SMEs: %w", err)
		}
		return nil
	}))
	if err := g.Wait(); err != nil {
		return nil, err
	}
	s.trace("all candidate searches (at once)", time.Since(started))
	var org int64
	for _, e := range by {
		e.Latest = max(e.Latest, e.latestHere)
	}
	// Who they are, and the left-out contract's share in the affinity.
	ids := make([]int64, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	excluded := map[int64]bool{}
	if len(r.EvalExclude) > 0 {
		rows, err := s.db.Query(ctx, `SELECT organisation_id FROM org_references WHERE source_uid = ANY($1)`, r.EvalExclude)
		if err != nil {
			return nil, fmt.Errorf("matching: left out: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&org}, func() error { excluded[org] = true; return nil }); err != nil {
			return nil, fmt.Errorf("matching: left out: %w", err)
		}
	}
	// What scoring needs of each, from the covering index alone; the rest
	// (name, places, how many contracts) only for those shown (details),
	// or for all when exhaustive (the evaluation).
	started = time.Now()
	group := ""
	if len(r.CPV[0]) >= 3 {
		group = r.CPV[0][:3]
	}
	// Every activity's shares worked out once (a few hundred), not twice
	// for each of up to 50,000 candidates; read-only while know runs from
	// two goroutines.
	shares := aff.SharesIn(divisions[0], group)
	know := func(org int64, naf, dep string) {
		e := by[org]
		e.NAF, e.Departement = naf, dep
		if d, ok := s.tax.Departement(dep); ok {
			e.Region = d.RegionCode
		}
		if excluded[org] {
			e.AffinityDiv = aff.Share(naf, divisions[0], 1)
			if group != "" {
				e.AffinityGroup = aff.Share(naf, group, 1)
			}
			return
		}
		sh := shares[naf]
		e.AffinityDiv, e.AffinityGroup = sh[0], sh[1]
	}
	member, err := s.whoTheyAre(ctx, ids, mem, know)
	if err != nil {
		return nil, err
	}
	s.trace("candidates' trade and place", time.Since(started))
	out := make([]Evidence, 0, len(by))
	for _, e := range by {
		if member[e.OrgID] {
			out = append(out, *e)
		}
	}
	if s.EvalExhaustive {
		all := make([]*Evidence, len(out))
		for i := range out {
			all[i] = &out[i]
		}
		if err := s.details(ctx, r, all); err != nil {
			return nil, err
		}
	} else if strings.TrimSpace(r.Text) != "" {
		start := time.Now()
		if err := s.textOfBest(ctx, r, divisions, out, worded); err != nil {
			return nil, err
		}
		s.trace("words of the first ranked", time.Since(start))
	}
	return out, nil
}

// whoTheyAre tells which of the candidates are member SMEs, and has know
// hear each one's trade and département: from memory when there is one,
// otherwise thousands of index probes at national scale, two halves at
// once on the two cores the candidate searches just left.
func (s *Service) whoTheyAre(ctx context.Context, ids []int64, mem *Memory, know func(org int64, naf, dep string)) (map[int64]bool, error) {
	member := make(map[int64]bool, len(ids))
	if mem != nil {
		mem.mu.RLock()
		defer mem.mu.RUnlock()
		for _, id := range ids {
			if naf, dep, isMember, ok := mem.org(id); ok && isMember {
				member[id] = true
				know(id, naf, dep)
			}
		}
		return member, nil
	}
	slices.Sort(ids)
	members := make([][]int64, 2)
	err := inHalves(ctx, ids, 2000, func(ctx context.Context, k int, half []int64) error {
		rows, err := s.db.Query(ctx, `SELECT g.id, g.naf_code, g.departement FROM organisations g WHERE g.id = ANY($1) AND `+smeMember, half)
		if err != nil {
			return fmt.Errorf("matching: organisations: %w", err)
		}
		var org int64
		var naf, dep string
		_, err = pgx.ForEachRow(rows, []any{&org, &naf, &dep}, func() error {
			members[k] = append(members[k], org)
			know(org, naf, dep)
			return nil
		})
		if err != nil {
			return fmt.Errorf("matching: organisations: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, list := range members {
		for _, id := range list {
			member[id] = true
		}
	}
	return member, nil
}

// inHalves runs fn on list, in two halves at once (k 0 and 1) on two
// connections when it holds at least least items: one statement plans
// serially (the server pools' setting), and a ranking's steps after the
// candidate searches run one after another, the second core idle. Each
// half's fn writes only what concerns its own items.
func inHalves[T any](ctx context.Context, list []T, least int, fn func(ctx context.Context, k int, part []T) error) error {
	if len(list) < max(least, 2) {
		return fn(ctx, 0, list)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return fn(gctx, 0, list[:len(list)/2]) })
	g.Go(func() error { return fn(gctx, 1, list[len(list)/2:]) })
	return g.Wait()
}

// offersFromSQL hands offer each row of offersQuery with the offer's
// level under the request's codes (Memory.offers reads the same from
// memory).
func (s *Service) offersFromSQL(ctx context.Context, r Request, placeKeys []string, offer func(org, offerID int64, lvl, trl int)) error {
	query, p := s.offersQuery(r, placeKeys)
	if query == "" {
		return nil
	}
	rows, err := s.db.Query(ctx, query, p...)
	if err != nil {
		return fmt.Errorf("matching: offers: %w", err)
	}
	var org, offerID int64
	var codes []string
	var trl int
	_, err = pgx.ForEachRow(rows, []any{&offerID, &org, &codes, &trl}, func() error {
		lvl := LevelNone
		for _, a := range codes {
			lvl = max(lvl, bestLevel(a, r.CPV))
		}
		offer(org, offerID, lvl, trl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: offers: %w", err)
	}
	return nil
}

// offersQuery reads the listed offers of the request's categories
// serving its places from their narrow copy (offer_categories), as the
// catalogue's facets would find them (listed AND facets && the category
// keys AND facets && the place keys); "" when it has no category.
func (s *Service) offersQuery(r Request, placeKeys []string) (string, params) {
	// Its places meet the request's when they share a région (both
	// sides' keys hold each département's région); without places, any
	// région, or none.
	var p params
	in := p.add(s.offerRegions(placeKeys))
	var union []string
	for _, k := range offerKeys(r.CPV) {
		union = append(union, `SELECT c.offer_id, c.organisation_id, c.cpv_codes, c.trl FROM offer_categories c
			WHERE c.region = ANY(`+in+`) AND c.category LIKE `+p.add(strings.TrimPrefix(k, "cpv:")+"%")+p.among(r, "c"))
	}
	return strings.Join(union, " UNION ALL "), p
}

// divisionReferences reads every past contract in the request's
// divisions, row by row (the evaluation: its baselines count them all).
func (s *Service) divisionReferences(ctx context.Context, r Request, get func(int64) *Evidence) error {
	var p params
	rows, err := s.db.Query(ctx, `SELECT r.organisation_id, r.cpv_code, r.departement, coalesce(r.year, 0)
		FROM org_references r WHERE `+p.prefixed(r.CPV, 2)+` AND NOT r.source_uid = ANY(`+p.add(nonNil(r.EvalExclude))+`)`, p...)
	if err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	var org int64
	var code, dep string
	var year int
	_, err = pgx.ForEachRow(rows, []any{&org, &code, &dep, &year}, func() error {
		e := get(org)
		lvl := bestLevel(code, r.CPV)
		for l := LevelDivision; l <= lvl; l++ {
			e.RefsAt[l]++
			e.LatestAt[l] = max(e.LatestAt[l], year)
			if dep != "" && dep == r.Departement {
				e.RefsAtDep[l]++
			}
		}
		if lvl >= LevelClass {
			e.Latest = max(e.Latest, year)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	return nil
}

// classReferences counts, per SME, its past contracts in the request's
// CPV groups, classes, categories and codes, in SQL from the covering
// index, and keeps the ReferenceCandidates SMEs whose counts weigh most
// under the weights: at national scale a group may hold 160,000
// contracts. The division's count is the group's (it weighs nothing); the
// département's counts are localReferences'.
func (s *Service) classReferences(ctx context.Context, r Request, get func(int64) *Evidence) error {
	var p params
	// atLeast is "Level(r.cpv_code, c) ≥ the level of n digits for one of
	// the codes", as Level reads codes: by their significant digits (a
	// code ending in zeros stands for its parent), 6 or more shared
	// digits being the same code.
	atLeast := func(n int) string {
		var or []string
		for _, c := range r.CPV {
			sig := strings.TrimRight(c, "0")
			switch {
			case len(sig) < n:
				or = append(or, "r.cpv_code = "+p.add(c))
			case c[n-1] == '0':
				or = append(or, "(r.cpv_code LIKE "+p.add(c[:n]+"%")+" AND r.cpv_code <> "+p.add(c[:n]+strings.Repeat("0", 8-n))+")")
			default:
				or = append(or, "r.cpv_code LIKE "+p.add(c[:n]+"%"))
			}
		}
		return "(" + strings.Join(or, " OR ") + ")"
	}
	w := s.Weights
	query := `SELECT organisation_id, n_group, n_class, n_category, n_exact, latest, latest_group, latest_category, latest_exact FROM (
			SELECT r.organisation_id,
				count(*) FILTER (WHERE ` + atLeast(3) + `) AS n_group,
				count(*) FILTER (WHERE ` + atLeast(4) + `) AS n_class,
				count(*) FILTER (WHERE ` + atLeast(5) + `) AS n_category,
				count(*) FILTER (WHERE ` + atLeast(6) + `) AS n_exact,
				coalesce(max(r.year) FILTER (WHERE ` + atLeast(4) + `), 0) AS latest,
				coalesce(max(r.year), 0) AS latest_group,
				coalesce(max(r.year) FILTER (WHERE ` + atLeast(5) + `), 0) AS latest_category,
				coalesce(max(r.year) FILTER (WHERE ` + atLeast(6) + `), 0) AS latest_exact
			FROM org_references r WHERE ` + p.prefixed(r.CPV, 3) + ` AND NOT r.source_uid = ANY(` + p.add(nonNil(r.EvalExclude)) + `)` + p.among(r, "r") + `
			GROUP BY 1) x
		ORDER BY ` + p.add(w[FRefsGroup]) + ` * ln(1 + n_group) + ` + p.add(w[FRefsClass]) + ` * ln(1 + n_class)
			+ ` + p.add(w[FRefsCategory]) + ` * ln(1 + n_category) + ` + p.add(w[FRefsExact]) + ` * ln(1 + n_exact) DESC, organisation_id
		LIMIT ` + p.add(s.ReferenceCandidates)
	// The hash of a large group's SMEs fits in memory rather than on disk.
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	rows, err := tx.Query(ctx, query, p...)
	if err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	var org int64
	var n, y [4]int
	_, err = pgx.ForEachRow(rows, []any{&org, &n[0], &n[1], &n[2], &n[3], &y[1], &y[0], &y[2], &y[3]}, func() error {
		e := get(org)
		e.RefsAt = [6]int{0, n[0], n[0], n[1], n[2], n[3]}
		e.LatestAt = [6]int{0, y[0], y[0], y[1], y[2], y[3]}
		e.Latest = y[1]
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: references: %w", err)
	}
	return nil
}

// localReferences counts every past contract in the request's divisions
// within its département, at every level: few, from the index on
// (département, code).
func (s *Service) localReferences(ctx context.Context, r Request, get func(int64) *Evidence) error {
	if r.Departement == "" {
		return nil
	}
	var p params
	rows, err := s.db.Query(ctx, `SELECT r.organisation_id, r.cpv_code, coalesce(r.year, 0) FROM org_references r
		WHERE r.departement = `+p.add(r.Departement)+` AND `+p.prefixed(r.CPV, 2)+` AND NOT r.source_uid = ANY(`+p.add(nonNil(r.EvalExclude))+`)`+p.among(r, "r"), p...)
	if err != nil {
		return fmt.Errorf("matching: local references: %w", err)
	}
	var org int64
	var code string
	var latest int
	_, err = pgx.ForEachRow(rows, []any{&org, &code, &latest}, func() error {
		e := get(org)
		lvl := bestLevel(code, r.CPV)
		for l := LevelDivision; l <= lvl; l++ {
			e.RefsAtDep[l]++
		}
		if lvl >= LevelClass {
			e.latestHere = max(e.latestHere, latest)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: local references: %w", err)
	}
	return nil
}

// rankedWords gives the SMEs whose references in the divisions share any
// of the request's words their best ts_rank, the TextCandidates best.
func (s *Service) rankedWords(ctx context.Context, r Request, divisions []string, fn func(org int64, rank float64)) error {
	rows, err := s.db.Query(ctx, `WITH q AS (SELECT `+wordsQuery("$1", "|")+` AS q)
		SELECT r.organisation_id, max(ts_rank(fr_tsvector(r.object), q.q))::float8
		FROM org_references r, q
		WHERE fr_tsvector(r.object) @@ q.q AND NOT r.source_uid = ANY($2) AND left(r.cpv_code, 2) = ANY($4)
		GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3`, r.Text, nonNil(r.EvalExclude), s.TextCandidates, divisions)
	if err != nil {
		return fmt.Errorf("matching: words: %w", err)
	}
	var org int64
	var rank float64
	if _, err := pgx.ForEachRow(rows, []any{&org, &rank}, func() error { fn(org, rank); return nil }); err != nil {
		return fmt.Errorf("matching: words: %w", err)
	}
	return nil
}

// allWords lists a few SMEs whose references in the divisions hold every
// word of the request (no ranking: the index answers and stops early).
func (s *Service) allWords(ctx context.Context, r Request, divisions []string) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT r.organisation_id FROM (
			SELECT r.organisation_id FROM org_references r
			WHERE fr_tsvector(r.object) @@ `+wordsQuery("$1", "&")+`
			  AND NOT r.source_uid = ANY($2) AND left(r.cpv_code, 2) = ANY($4)
			  AND ($5::bigint[] IS NULL OR r.organisation_id = ANY($5)) LIMIT $3) r`,
		r.Text, nonNil(r.EvalExclude), s.WordCandidates, divisions, r.Among)
	if err != nil {
		return nil, fmt.Errorf("matching: words: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("matching: words: %w", err)
	}
	return list, nil
}

// textOfBest weighs the request's words in the references (in its
// divisions) of the TextBest SMEs ranked first without them, and of those
// holding all of them: the words then reorder the head of the ranking,
// without ranking every reference of a division by words.
func (s *Service) textOfBest(ctx context.Context, r Request, divisions []string, list []Evidence, worded []int64) error {
	ranked := RankFirst(list, r, s.Weights, 0, s.TextBest)
	ids := append([]int64(nil), worded...)
	for _, x := range ranked {
		ids = append(ids, x.OrgID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids) // each SME in one half only
	at := make(map[int64]int, len(list))
	for i, e := range list {
		at[e.OrgID] = i
	}
	// Each contract's words worked out once (OFFSET 0 keeps the subquery
	// whole): the match and the rank each ran fr_tsvector, and EXPLAIN
	// ANALYZE of one request gave 24 ms then, 12.7 ms now.
	return inHalves(ctx, ids, 2, func(ctx context.Context, _ int, half []int64) error {
		rows, err := s.db.Query(ctx, `WITH q AS (SELECT `+wordsQuery("$1", "|")+` AS q)
			SELECT r.organisation_id, max(ts_rank(r.words, q.q))::float8
			FROM (SELECT r.organisation_id, fr_tsvector(r.object) AS words FROM org_references r
				WHERE r.organisation_id = ANY($3) AND NOT r.source_uid = ANY($2) AND left(r.cpv_code, 2) = ANY($4) OFFSET 0) r, q
			WHERE r.words @@ q.q
			GROUP BY 1`, r.Text, nonNil(r.EvalExclude), half, divisions)
		if err != nil {
			return fmt.Errorf("matching: words: %w", err)
		}
		var org int64
		var rank float64
		_, err = pgx.ForEachRow(rows, []any{&org, &rank}, func() error {
			if i, ok := at[org]; ok {
				list[i].Text = rank
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("matching: words: %w", err)
		}
		return nil
	})
}

// details fills in the name, whether it serves a place of the request,
// how many past contracts it has and the title of the offer it cites,
// of the given evidence.
func (s *Service) details(ctx context.Context, r Request, list []*Evidence) error {
	return inHalves(ctx, list, 2, func(ctx context.Context, _ int, half []*Evidence) error { return s.detailsOf(ctx, r, half) })
}

func (s *Service) detailsOf(ctx context.Context, r Request, list []*Evidence) error {
	ids, offers := make([]int64, len(list)), make([]int64, len(list))
	at := make(map[int64]*Evidence, len(list))
	for i, e := range list {
		ids[i], offers[i], at[e.OrgID] = e.OrgID, e.OfferID, e
	}
	var p params
	in, cited := p.add(ids), p.add(offers)
	// Its past contracts, counted from the index alone unless some are left out.
	count := `(SELECT count(*) FROM org_references r WHERE r.organisation_id = g.id)`
	if len(r.EvalExclude) > 0 {
		count = `(SELECT count(*) FROM org_references r WHERE r.organisation_id = g.id AND NOT r.source_uid = ANY(` + p.add(r.EvalExclude) + `))`
	}
	rows, err := s.db.Query(ctx, `SELECT g.id, g.legal_name, g.departement, g.places, `+count+`, coalesce((SELECT o.title FROM offers o WHERE o.id = x.offer), '')
		FROM unnest(`+in+`::bigint[], `+cited+`::bigint[]) x(id, offer) JOIN organisations g ON g.id = x.id`, p...)
	if err != nil {
		return fmt.Errorf("matching: details: %w", err)
	}
	placeKeys := s.tax.PlaceKeys(requestPlaces(r))
	var org int64
	var name, dep, title string
	var places []string
	var refs int
	_, err = pgx.ForEachRow(rows, []any{&org, &name, &dep, &places, &refs, &title}, func() error {
		e := at[org]
		e.Name, e.References, e.OfferTitle = name, refs, title
		if overlaps(s.tax.PlaceKeys(append(places, "dep:"+dep)), placeKeys) {
			e.ServesPlace = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: details: %w", err)
	}
	return nil
}

// placeRegions are the région codes among place keys ("reg:84": "84").
func placeRegions(keys []string) []string {
	var out []string
	for _, k := range keys {
		if code, ok := strings.CutPrefix(k, "reg:"); ok {
			out = append(out, code)
		}
	}
	return out
}

// sharesRegion tells whether places ("dep:69", "reg:84") lie in one of
// the régions: overlaps(PlaceKeys(places), keys) without expanding them,
// as both sides' keys hold each of their départements' région.
func (s *Service) sharesRegion(places, regions []string) bool {
	for _, p := range places {
		kind, code, _ := strings.Cut(p, ":")
		switch kind {
		case "dep":
			if d, ok := s.tax.Departement(code); ok && slices.Contains(regions, d.RegionCode) {
				return true
			}
		case "reg":
			if _, ok := s.tax.Region(code); ok && slices.Contains(regions, code) {
				return true
			}
		}
	}
	return false
}

// requestPlaces are the request's places as place keys.
func requestPlaces(r Request) []string {
	var p []string
	if r.Departement != "" {
		p = append(p, "dep:"+r.Departement)
	}
	if r.Region != "" {
		p = append(p, "reg:"+r.Region)
	}
	return p
}

// bestLevel is the deepest level at which code shares a prefix with one
// of the request's codes.
func bestLevel(code string, codes []string) int {
	lvl := LevelNone
	for _, c := range codes {
		lvl = max(lvl, Level(code, c))
	}
	return lvl
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if containsString(b, x) {
			return true
		}
	}
	return false
}

// params are a statement's parameters, numbered as they are added.
type params []any

// among is the condition on references r that keeps the request's Among
// SMEs, when it names some.
func (p *params) among(r Request, table string) string {
	if r.Among == nil {
		return ""
	}
	return " AND " + table + ".organisation_id = ANY(" + p.add(r.Among) + ")"
}

// add appends a parameter and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return fmt.Sprintf("$%d", len(*p))
}

// prefixed is "(r.cpv_code LIKE $i OR …)" for the n-digit prefixes of the
// codes.
func (p *params) prefixed(codes []string, n int) string {
	var or []string
	for _, c := range codes {
		or = append(or, "r.cpv_code LIKE "+p.add(c[:min(n, len(c))]+"%"))
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// wordsQuery is the tsquery of a text's words as search analyses them
// (fr_tsvector's lexemes), joined by op: "|" any of them, "&" all. Built
// from lexemes, not websearch syntax: a "-" in a request's title must not
// exclude a word.
func wordsQuery(text, op string) string {
	return `(SELECT to_tsquery('simple', coalesce(string_agg(quote_literal(lexeme), ' ` + op + ` '), '')) FROM unnest(fr_tsvector(` + text + `)))`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// timed wraps a step of Evidence so that Trace hears how long it took.
func (s *Service) timed(step string, fn func() error) func() error {
	if s.Trace == nil {
		return fn
	}
	return func() error {
		start := time.Now()
		err := fn()
		s.Trace(step, time.Since(start))
		return err
	}
}

func (s *Service) trace(step string, d time.Duration) {
	if s.Trace != nil {
		s.Trace(step, d)
	}
}

// Match is a ranked SME with what explains it.
type Match struct {
	Ranked
	Facts []Fact
}

// Rank ranks the SMEs for a request, best first, at most limit, each
// with its reasons; year dates the request (for recency).
func (s *Service) Rank(ctx context.Context, r Request, year, limit int) ([]Match, error) {
	out, _, err := s.rank(ctx, r, year, limit)
	return out, err
}

// rank is Rank, also saying how many candidates were scored.
func (s *Service) rank(ctx context.Context, r Request, year, limit int) ([]Match, int, error) {
	ev, err := s.Evidence(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	ranked := RankFirst(ev, r, s.Weights, year, limit)
	if !s.EvalExhaustive { // the evidence has them already
		shown := make([]*Evidence, len(ranked))
		for i := range ranked {
			shown[i] = &ranked[i].Evidence
		}
		start := time.Now()
		err := s.details(ctx, r, shown)
		s.trace("the 100 shown: names, places", time.Since(start))
		if err != nil {
			return nil, 0, err
		}
	}
	out := make([]Match, 0, len(ranked))
	for _, x := range ranked {
		out = append(out, Match{Ranked: x, Facts: Facts(x.Evidence, r)})
	}
	return out, len(ev), nil
}
