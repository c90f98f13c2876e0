package matching

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// Batch is what the platform knows of a few SMEs (their trade and place,
// past contracts and published offers), read once, to score them for
// many requests at once: the recompute brings a batch of changed SMEs
// into every open request, and gathering their evidence request by
// request (Evidence with Among) costs a few statements per request.
// Score works out, in memory, the evidence each of Evidence's searches
// would find for them, save the text ranks, read in one statement for the
// pairs of a request and a past contract whose words meet.
type Batch struct {
	s    *Service
	aff  *Affinity
	smes []*batchSME
	// By CPV division of their past contracts and offers, by the buyer
	// SIREN of their contracts, by département.
	byDivision, byBuyer, byDep map[string][]*batchSME
	// Where each search may find them: by the CPV group of a past
	// contract, by its division and département, by the category keys of
	// an offer ("cpv:72212"), by a word of a past contract.
	byGroup, byDivDep, byOfferKey, byWord map[string][]*batchSME
	affineMu                              sync.Mutex
	affine                                map[string][]string              // by division: Affinity.Affine, worked out once
	shares                                map[string]map[string][2]float64 // by division and group: Affinity.SharesIn, once
	// keyIDs numbers the offers' facet and place keys, which a request's
	// keys are then compared with as numbers.
	keyIDs map[string]int32
}

type batchSME struct {
	id                int64
	naf, dep, region  string
	name              string
	places            []string // as place keys, its département's among them
	member            bool     // a member PME or ETI: the only SMEs ranked
	references        int
	refs              []batchRef
	offers            []batchOffer
	divisions, buyers []string
}

type batchRef struct {
	id        int64
	code, dep string
	year      int
	buyer     string   // the client's SIREN, "" unknown
	lexemes   []string // of its object, as fr_tsvector reads it, with their parts
	// Its object's tsvector: lexemes in Go's order, each one's number of
	// positions; plain when every position has the default weight (D), as
	// fr_tsvector gives them: its text rank is then worked out in Go.
	vector []string
	npos   []int32
	plain  bool
}

type batchOffer struct {
	id            int64
	title         string
	codes, places []string
	facets        []string
	trl           int
	// Its facet keys, numbered (Batch.keyIDs), ascending.
	facetIDs []int32
}

// Prepare reads what scoring orgs needs (for the platform's ranking, not
// the exhaustive evaluation).
func (s *Service) Prepare(ctx context.Context, orgs []int64) (*Batch, error) {
	aff, err := s.LoadAffinity(ctx)
	if err != nil {
		return nil, err
	}
	b := &Batch{s: s, aff: aff, byDivision: map[string][]*batchSME{}, byBuyer: map[string][]*batchSME{}, byDep: map[string][]*batchSME{},
		byGroup: map[string][]*batchSME{}, byDivDep: map[string][]*batchSME{}, byOfferKey: map[string][]*batchSME{}, byWord: map[string][]*batchSME{},
		affine: map[string][]string{}, shares: map[string]map[string][2]float64{}, keyIDs: map[string]int32{}}
	at := map[int64]*batchSME{}
	rows, err := s.db.Query(ctx, `SELECT g.id, g.naf_code, g.departement, g.legal_name, g.places, `+smeMember+`,
			(SELECT count(*) FROM org_references r WHERE r.organisation_id = g.id)
		FROM organisations g WHERE g.id = ANY($1) ORDER BY g.id`, orgs)
	if err != nil {
		return nil, fmt.Errorf("matching: batch: %w", err)
	}
	for rows.Next() {
		x := &batchSME{}
		if err := rows.Scan(&x.id, &x.naf, &x.dep, &x.name, &x.places, &x.member, &x.references); err != nil {
			rows.Close()
			return nil, fmt.Errorf("matching: batch: %w", err)
		}
		if d, ok := s.tax.Departement(x.dep); ok {
			x.region = d.RegionCode
		}
		x.places = s.tax.PlaceKeys(append(x.places, "dep:"+x.dep))
		at[x.id] = x
		b.smes = append(b.smes, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("matching: batch: %w", err)
	}
	rows, err = s.db.Query(ctx, `SELECT r.id, r.organisation_id, r.cpv_code, r.departement, coalesce(r.year, 0),
			CASE WHEN r.client_siret <> '' THEN left(r.client_siret, 9) ELSE '' END, v.lexemes, v.npos, v.plain
		FROM org_references r, LATERAL (SELECT coalesce(array_agg(lexeme), '{}') AS lexemes,
				coalesce(array_agg(coalesce(cardinality(positions), 0)), '{}') AS npos,
				coalesce(bool_and(weights <@ '{D}'::text[]), true) AS plain
			FROM unnest(fr_tsvector(r.object))) v
		WHERE r.organisation_id = ANY($1) ORDER BY r.id`, orgs)
	if err != nil {
		return nil, fmt.Errorf("matching: batch references: %w", err)
	}
	var org int64
	var ref batchRef
	if _, err := pgx.ForEachRow(rows, []any{&ref.id, &org, &ref.code, &ref.dep, &ref.year, &ref.buyer, &ref.vector, &ref.npos, &ref.plain}, func() error {
		if x := at[org]; x != nil {
			sortVector(ref.vector, ref.npos)
			ref.lexemes = withParts(slices.Clone(ref.vector))
			x.refs = append(x.refs, ref)
			x.divisions = addOnce(x.divisions, ref.code[:2])
			if ref.buyer != "" {
				x.buyers = addOnce(x.buyers, ref.buyer)
			}
		}
		ref = batchRef{}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("matching: batch references: %w", err)
	}
	rows, err = s.db.Query(ctx, `SELECT id, organisation_id, title, cpv_codes, coalesce(trl, 0), places, facets
		FROM offers WHERE listed AND organisation_id = ANY($1) ORDER BY id`, orgs)
	if err != nil {
		return nil, fmt.Errorf("matching: batch offers: %w", err)
	}
	var o batchOffer
	if _, err := pgx.ForEachRow(rows, []any{&o.id, &org, &o.title, &o.codes, &o.trl, &o.places, &o.facets}, func() error {
		if x := at[org]; x != nil {
			o.facetIDs = b.number(o.facets, true)
			x.offers = append(x.offers, o)
			for _, c := range o.codes {
				if len(c) >= 2 {
					x.divisions = addOnce(x.divisions, c[:2])
				}
			}
		}
		o = batchOffer{}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("matching: batch offers: %w", err)
	}
	for _, x := range b.smes {
		for _, d := range x.divisions {
			b.byDivision[d] = append(b.byDivision[d], x)
		}
		for _, siren := range x.buyers {
			b.byBuyer[siren] = append(b.byBuyer[siren], x)
		}
		if x.dep != "" {
			b.byDep[x.dep] = append(b.byDep[x.dep], x)
		}
		add := func(m map[string][]*batchSME, key string) {
			if list := m[key]; len(list) == 0 || list[len(list)-1] != x {
				m[key] = append(list, x)
			}
		}
		for _, ref := range x.refs {
			add(b.byGroup, ref.code[:3])
			add(b.byDivDep, ref.code[:2]+"|"+ref.dep)
			for _, l := range ref.vector {
				add(b.byWord, l)
			}
		}
		for _, o := range x.offers {
			for _, f := range o.facets {
				if strings.HasPrefix(f, "cpv:") {
					add(b.byOfferKey, f)
				}
			}
		}
	}
	return b, nil
}

// number is keys as their numbers (keyIDs), ascending; add numbers the
// keys not numbered yet, otherwise they are left out (no offer holds them).
func (b *Batch) number(keys []string, add bool) []int32 {
	out := make([]int32, 0, len(keys))
	for _, k := range keys {
		id, ok := b.keyIDs[k]
		if !ok && add {
			id, ok = int32(len(b.keyIDs)), true
			b.keyIDs[k] = id
		}
		if ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// overlapIDs tells whether two ascending lists share a number.
func overlapIDs(a, b []int32) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// found are the SMEs of the batch one of a request's searches finds (a
// superset: the evidence decides), each once, for a request whose words
// are plain (their text ranks are worked out in Go): every other SME of
// the batch is no candidate, whatever its words.
func (b *Batch) found(r Request, keys []string, w requestWords, worded bool) []*batchSME {
	var out []*batchSME
	for _, c := range r.CPV {
		out = append(out, b.byGroup[c[:min(3, len(c))]]...)
		if r.Departement != "" {
			out = append(out, b.byDivDep[c[:min(2, len(c))]+"|"+r.Departement]...)
		}
	}
	if r.BuyerSIREN != "" {
		out = append(out, b.byBuyer[r.BuyerSIREN]...)
	}
	for _, k := range keys {
		out = append(out, b.byOfferKey[k]...)
	}
	if r.Departement != "" {
		out = append(out, b.byDep[r.Departement]...) // the affine trades
	}
	if worded && len(w.lexemes) > 0 { // those holding every word hold the rarest
		rarest := b.byWord[w.lexemes[0]]
		for _, l := range w.lexemes[1:] {
			if len(b.byWord[l]) < len(rarest) {
				rarest = b.byWord[l]
			}
		}
		out = append(out, rarest...)
	}
	slices.SortFunc(out, func(x, y *batchSME) int { return cmp.Compare(x.id, y.id) })
	return slices.Compact(out)
}

// Scored is one request's score of the batch's SMEs: those it ranks
// (a positive score or not), best first.
type Scored struct {
	Request Request
	Matches []Match
}

// Score ranks the batch's SMEs for each request as Rank ranks them, each
// from its own evidence (as Evidence with Among finds it), the first limit
// of them with their reasons; years date the requests (for recency).
// Several Scores may run at once on one Batch (it is only read, but for
// the affine trades worked out once per division, under a lock).
func (b *Batch) Score(ctx context.Context, reqs []Request, years []int, limit int) ([][]Match, error) {
	type pending struct {
		e         *Evidence
		sme       *batchSME
		candidate bool
	}
	lists := make([][]pending, len(reqs))
	// Every SME a request may see, each once.
	near := func(r Request, divisions []string) []*batchSME {
		var out []*batchSME
		for _, d := range divisions {
			out = append(out, b.byDivision[d]...)
		}
		if r.BuyerSIREN != "" {
			out = append(out, b.byBuyer[r.BuyerSIREN]...)
		}
		if r.Departement != "" {
			out = append(out, b.byDep[r.Departement]...)
		}
		slices.SortFunc(out, func(x, y *batchSME) int { return cmp.Compare(x.id, y.id) })
		return slices.Compact(out)
	}
	// The pairs of a request and a past contract whose words may meet,
	// and those with the request's buyer, ranked in SQL afterwards.
	type pair struct {
		req, pos int // request and its pending
		ref      int64
		text     bool // a contract of the divisions: its words may rank it
		buyer    bool // a contract with the buyer: its closeness counts
	}
	var pairs []pair
	started := time.Now()
	lexemes, words, err := b.lexemes(ctx, reqs)
	if err != nil {
		return nil, err
	}
	b.s.trace("batch: the requests' words", time.Since(started))
	started = time.Now()
	for i, r := range reqs {
		divisions := requestDivisions(r)
		if len(divisions) == 0 {
			continue
		}
		placeKeys := b.s.tax.PlaceKeys(requestPlaces(r))
		keys := offerKeys(r.CPV)
		keyIDs, placeIDs := b.number(keys, false), b.number(placeKeys, false)
		regions := placeRegions(placeKeys)
		worded := strings.TrimSpace(r.Text) != ""
		b.affineMu.Lock()
		affine, ok := b.affine[divisions[0]]
		if !ok {
			affine = b.aff.Affine(divisions[0], 0.15, 30)
			b.affine[divisions[0]] = affine
		}
		b.affineMu.Unlock()
		var smes []*batchSME
		if words[i].plain {
			smes = b.found(r, keys, words[i], worded)
		} else { // pairs of any SME of the divisions go to PostgreSQL
			smes = near(r, divisions)
		}
		for _, x := range smes {
			if !x.member { // found or not, never ranked
				continue
			}
			paired := len(pairs)
			e := &Evidence{OrgID: x.id}
			cand := false
			latestHere := 0
			var class classCount // classReferences
			for _, ref := range x.refs {
				lvl := bestLevel(ref.code, r.CPV)
				class.add(ref.code, ref.year, r.CPV)
				if r.Departement != "" && ref.dep == r.Departement && hasPrefixOf(ref.code, r.CPV, 2) {
					cand = true
					for l := LevelDivision; l <= lvl; l++ {
						e.RefsAtDep[l]++
					}
					if lvl >= LevelClass {
						latestHere = max(latestHere, ref.year)
					}
				}
				same := r.BuyerSIREN != "" && ref.buyer == r.BuyerSIREN
				if same {
					cand = true
					e.SameBuyer++
					if lvl >= LevelDivision {
						e.SameBuyerDiv++
					}
					if lvl >= LevelClass {
						e.SameBuyerClass++
					}
				}
				inDivisions := worded && slices.Contains(divisions, ref.code[:2]) && meets(ref.lexemes, lexemes[i])
				switch {
				case !same && !inDivisions:
				case words[i].plain && ref.plain: // the rank as ts_rank works it out, here
					rank := tsRankOr(words[i].lexemes, ref.vector, ref.npos)
					if same {
						e.SimilarForBuyer = max(e.SimilarForBuyer, rank)
					}
					if inDivisions && containsAll(ref.vector, words[i].lexemes) {
						cand = true
					}
					if inDivisions && rank > 0 {
						e.Text = max(e.Text, rank)
					}
				default:
					pairs = append(pairs, pair{req: i, pos: len(lists[i]), ref: ref.id, text: inDivisions, buyer: same})
				}
			}
			if class.any {
				cand = true
				class.set(e)
			}
			e.latestHere = latestHere
			for _, o := range x.offers {
				if !overlapIDs(o.facetIDs, keyIDs) || (len(placeKeys) > 0 && !overlapIDs(o.facetIDs, placeIDs)) {
					continue
				}
				cand = true
				lvl := LevelNone
				for _, c := range o.codes {
					lvl = max(lvl, bestLevel(c, r.CPV))
				}
				if betterOffer(lvl, o.id, e.OfferLevel, e.OfferID) {
					e.OfferLevel, e.OfferID, e.OfferTitle, e.OfferTRL = lvl, o.id, o.title, o.trl
				}
				if b.s.sharesRegion(o.places, regions) {
					e.ServesPlace = true
				}
			}
			if r.Departement != "" && x.member && x.dep == r.Departement && slices.Contains(affine, x.naf) {
				cand = true
			}
			if cand || len(pairs) > paired { // its words may still make it one
				lists[i] = append(lists[i], pending{e: e, sme: x, candidate: cand})
			}
		}
	}
	b.s.trace("batch: evidence in memory", time.Since(started))
	started = time.Now()
	// The text ranks of the pairs, in one statement per thousands of them.
	if len(pairs) > 0 {
		texts, index := []string{}, map[int]int32{}
		reqIdx, refs := make([]int32, len(pairs)), make([]int64, len(pairs))
		for k, p := range pairs {
			j, ok := index[p.req]
			if !ok {
				j = int32(len(texts)) + 1
				index[p.req] = j
				texts = append(texts, reqs[p.req].Text)
			}
			reqIdx[k], refs[k] = j, p.ref
		}
		rows, err := b.s.db.Query(ctx, `WITH t AS MATERIALIZED (
				SELECT t.i, `+wordsQuery("t.text", "|")+` AS any_word, `+wordsQuery("t.text", "&")+` AS all_words
				FROM unnest($1::text[]) WITH ORDINALITY AS t(text, i)),
			v AS MATERIALIZED (SELECT id, fr_tsvector(object) AS v FROM org_references WHERE id = ANY($3))
			SELECT p.k, v.v @@ t.any_word, v.v @@ t.all_words,
				CASE WHEN numnode(t.any_word) = 0 THEN 0 ELSE ts_rank(v.v, t.any_word) END::float8
			FROM unnest($2::int[], $3::bigint[]) WITH ORDINALITY AS p(i, ref, k)
			JOIN t ON t.i = p.i JOIN v ON v.id = p.ref`, texts, reqIdx, refs)
		if err != nil {
			return nil, fmt.Errorf("matching: batch words: %w", err)
		}
		var k int64
		var anyWord, allWords bool
		var rank float64
		if _, err := pgx.ForEachRow(rows, []any{&k, &anyWord, &allWords, &rank}, func() error {
			p := pairs[k-1]
			x := &lists[p.req][p.pos]
			if p.buyer {
				x.e.SimilarForBuyer = max(x.e.SimilarForBuyer, rank)
			}
			if p.text && allWords {
				x.candidate = true
			}
			if p.text && anyWord {
				x.e.Text = max(x.e.Text, rank)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("matching: batch words: %w", err)
		}
	}
	b.s.trace("batch: text ranks of the pairs whose words meet", time.Since(started))
	started = time.Now()
	defer func() { b.s.trace("batch: scores and reasons", time.Since(started)) }()
	out := make([][]Match, len(reqs))
	for i, r := range reqs {
		divisions := requestDivisions(r)
		placeKeys := b.s.tax.PlaceKeys(requestPlaces(r))
		shares := b.sharesIn(divisions[0], r.CPV[0])
		var ev []Evidence
		for _, p := range lists[i] {
			if !p.candidate {
				continue
			}
			e, x := p.e, p.sme
			e.Latest = max(e.Latest, e.latestHere)
			e.NAF, e.Departement, e.Region = x.naf, x.dep, x.region
			sh := shares[x.naf]
			e.AffinityDiv, e.AffinityGroup = sh[0], sh[1]
			// details: the name, the places of its profile, its contracts.
			e.Name, e.References = x.name, x.references
			if overlaps(x.places, placeKeys) {
				e.ServesPlace = true
			}
			ev = append(ev, *e)
		}
		for _, x := range RankFirst(ev, r, b.s.Weights, years[i], limit) {
			out[i] = append(out[i], Match{Ranked: x, Facts: Facts(x.Evidence, r)})
		}
	}
	return out, nil
}

// sharesIn is Affinity.SharesIn of a division and of the group of code
// (none when it has fewer than three digits), worked out once a batch:
// the same few hundred pairs come back for tens of thousands of requests.
func (b *Batch) sharesIn(division, code string) map[string][2]float64 {
	group := ""
	if len(code) >= 3 {
		group = code[:3]
	}
	b.affineMu.Lock()
	defer b.affineMu.Unlock()
	sh, ok := b.shares[division+"|"+group]
	if !ok {
		sh = b.aff.SharesIn(division, group)
		b.shares[division+"|"+group] = sh
	}
	return sh
}

// requestWords are a request's words as its tsquery of any of them holds
// them (fr_tsvector's lexemes, sorted, each once); plain when each is
// made of letters and digits alone, so that the tsquery holds each as
// one operand and nothing else.
type requestWords struct {
	lexemes []string
	plain   bool
}

// lexemes are the requests' words as fr_tsvector reads them, with the
// parts of compound ones (what a tsquery of them may look for), and as
// their tsqueries hold them.
func (b *Batch) lexemes(ctx context.Context, reqs []Request) ([][]string, []requestWords, error) {
	texts := make([]string, len(reqs))
	for i, r := range reqs {
		texts[i] = r.Text
	}
	rows, err := b.s.db.Query(ctx, `SELECT coalesce(tsvector_to_array(fr_tsvector(t)), '{}') FROM unnest($1::text[]) WITH ORDINALITY AS x(t, i) ORDER BY i`, texts)
	if err != nil {
		return nil, nil, fmt.Errorf("matching: batch lexemes: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
	if err != nil {
		return nil, nil, fmt.Errorf("matching: batch lexemes: %w", err)
	}
	words := make([]requestWords, len(out))
	for i, list := range out {
		w := requestWords{lexemes: slices.Clone(list), plain: true}
		slices.Sort(w.lexemes)
		w.lexemes = slices.Compact(w.lexemes)
		for _, l := range w.lexemes {
			if strings.IndexFunc(l, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
				w.plain = false
			}
		}
		words[i] = w
		out[i] = withParts(list)
	}
	return out, words, nil
}

// tsRankOr is PostgreSQL's ts_rank(vector, query) (default weights, no
// normalisation) where query is the OR of the lexemes ops, each one
// operand, and every position of the vector has weight D: calc_rank_or
// of tsrank.c, in its float arithmetic, step by step.
func tsRankOr(ops []string, vector []string, npos []int32) float64 {
	if len(ops) == 0 || len(vector) == 0 {
		return 0
	}
	const d = float32(0.1) // weight D
	var res float32
	for _, op := range ops {
		i, ok := slices.BinarySearch(vector, op)
		if !ok {
			continue
		}
		n := int(npos[i])
		if n == 0 { // no positions: one, of weight D
			n = 1
		}
		var resj float32
		wjm, jm := float32(-1), 0
		for j := 0; j < n; j++ {
			resj = float32(resj + float32(d/float32((j+1)*(j+1))))
			if d > wjm {
				wjm, jm = d, j
			}
		}
		part := float32(float32(wjm+resj) - float32(wjm/float32((jm+1)*(jm+1))))
		res = float32(float64(res) + float64(part)/1.64493406685)
	}
	res = float32(res / float32(len(ops)))
	if res < 0 {
		res = 1e-20
	}
	return float64(res)
}

// containsAll tells whether a sorted vector holds every lexeme of ops.
func containsAll(vector, ops []string) bool {
	for _, op := range ops {
		if _, ok := slices.BinarySearch(vector, op); !ok {
			return false
		}
	}
	return len(ops) > 0
}

// sortVector sorts a tsvector's lexemes in Go's order, their counts of
// positions with them.
func sortVector(lexemes []string, npos []int32) {
	idx := make([]int, len(lexemes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(lexemes[a], lexemes[b]) })
	l, n := slices.Clone(lexemes), slices.Clone(npos)
	for k, i := range idx {
		lexemes[k], npos[k] = l[i], n[i]
	}
}

// withParts adds to lexemes the parts of compound ones ("e-commerc":
// "e", "commerc"), each once.
func withParts(lexemes []string) []string {
	for _, l := range lexemes {
		for _, part := range strings.FieldsFunc(l, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if part != l && !slices.Contains(lexemes, part) {
				lexemes = append(lexemes, part)
			}
		}
	}
	return lexemes
}

// meets tells whether a contract's words and a request's share one, the
// parts of compound words included: the only pairs whose text rank is
// read (a tsquery of the request's words matches only a contract holding
// one of them, or all the parts of one).
func meets(ref, req []string) bool {
	for _, l := range ref {
		if slices.Contains(req, l) {
			return true
		}
	}
	return false
}

// requestDivisions are the divisions of a request's 8-digit codes, in order.
func requestDivisions(r Request) []string {
	var divisions []string
	for _, c := range r.CPV {
		if len(c) == 8 && !containsString(divisions, c[:2]) {
			divisions = append(divisions, c[:2])
		}
	}
	return divisions
}

// hasPrefixOf is "code LIKE c[:n]% for one of the codes" (params.prefixed).
func hasPrefixOf(code string, codes []string, n int) bool {
	for _, c := range codes {
		if strings.HasPrefix(code, c[:min(n, len(c))]) {
			return true
		}
	}
	return false
}

// atLeast is classReferences' condition of n digits, in Go: a code's
// level with one of the request's codes is at least that of n digits, as
// Level reads codes (by their significant digits).
func atLeast(code string, codes []string, n int) bool {
	for _, c := range codes {
		sig := strings.TrimRight(c, "0")
		switch {
		case len(sig) < n:
			if code == c {
				return true
			}
		case c[n-1] == '0':
			if strings.HasPrefix(code, c[:n]) && code != c[:n]+strings.Repeat("0", 8-n) {
				return true
			}
		default:
			if strings.HasPrefix(code, c[:n]) {
				return true
			}
		}
	}
	return false
}

// betterOffer tells whether an offer at level lvl is the one an SME's
// evidence cites rather than the one it holds: the deepest, then the
// first published (the lowest id), whatever order the rows come in.
func betterOffer(lvl int, id int64, bestLvl int, bestID int64) bool {
	return lvl > bestLvl || (lvl == bestLvl && lvl > LevelNone && id < bestID)
}

func addOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
