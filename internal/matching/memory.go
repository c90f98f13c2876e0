package matching

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Memory holds what ranking a request reads of every SME the most: its
// trade, département and membership, and its past contracts by CPV group.
// Counting a group's contracts per SME in SQL reads up to 160,000 index
// entries per request at national scale, and reading thousands of
// candidates' trade as many index probes; here a walk over a list sorted
// by SME and map look-ups.
// It is derived, never the source of truth: loaded from PostgreSQL, then
// brought up to date before each use from evidence_log, the SMEs whose
// evidence changed (written by triggers), so a ranking reads what was
// committed when it began, as the SQL searches do.
type Memory struct {
	db *pgxpool.Pool

	update sync.Mutex // one catch-up at a time
	mu     sync.RWMutex
	memState
}

// memState is what a Memory holds, swapped whole when it loads again.
type memState struct {
	// Without pointers, so that the collector never walks them: trades
	// and départements as numbers (names), past contracts as flat lists
	// by CPV group, sorted by SME.
	orgs    map[int64]memOrg
	byGroup map[string][]memRef
	names   []string
	nameIDs map[string]uint16
	// The listed offers by région key and division, each list sorted by
	// category then offer (memory_offers.go).
	offerLists map[offerList][]memOffer
	moreCodes  map[int64][]uint32
	// The groups and offer lists of SMEs past the room of their memOrg.
	extraGroups map[int64][]uint16
	extraLists  map[int64][]offerList
	// last is the last change read; pending the transactions still
	// running when the log was last read, whose changes may yet commit
	// with a lower number.
	last    int64
	pending []string
	readAt  time.Time // of the last read of the log
}

// LogRetention is how long evidence_log keeps a change (PruneLog): a
// memory that has not read the log for half of it loads everything again.
const LogRetention = 24 * time.Hour

// PruneLogArgs is the hourly job that deletes the changes older than
// LogRetention from evidence_log.
type PruneLogArgs struct{}

// Kind names the job.
func (PruneLogArgs) Kind() string { return "matching.prune_evidence_log" }

// PruneLog deletes the changes older than LogRetention.
func PruneLog(ctx context.Context, db *pgxpool.Pool) error {
	if _, err := db.Exec(ctx, `DELETE FROM evidence_log WHERE logged_at < now() - $1::interval`, LogRetention.String()); err != nil {
		return fmt.Errorf("matching: prune the evidence log: %w", err)
	}
	return nil
}

type memOrg struct {
	naf, dep uint16 // Memory.names
	member   bool   // a member PME or ETI: the only SMEs ranked
	// The CPV groups of its past contracts (Memory.names), so that a
	// catch-up takes it out of those lists only, the first two
	// (Memory.extraGroups holds the others).
	groups  [2]uint16
	ngroups uint8
	// The lists of its listed offers (offerLists), the first four
	// (Memory.extraLists holds the others).
	lists  [4]offerList
	nlists uint8
}

// noteIn notes v among an SME's values: in the room of its memOrg (n of
// them used) while there is some, past it in extra. A catch-up then reads
// the lists of a changed SME's values, not every list (an SME with
// contracts in ten CPV groups made it walk them all).
func noteIn[T comparable](room []T, n *uint8, extra map[int64][]T, org int64, v T) {
	switch {
	case slices.Contains(room[:*n], v) || slices.Contains(extra[org], v):
	case int(*n) < len(room):
		room[*n] = v
		*n++
	default:
		extra[org] = append(extra[org], v)
	}
}

type memRef struct {
	org  int64
	code uint32 // the 8 digits as a number
	year int32
}

func newMemory(db *pgxpool.Pool) *Memory {
	return &Memory{db: db, memState: memState{orgs: map[int64]memOrg{}, byGroup: map[string][]memRef{}, nameIDs: map[string]uint16{},
		offerLists: map[offerList][]memOffer{}, moreCodes: map[int64][]uint32{},
		extraGroups: map[int64][]uint16{}, extraLists: map[int64][]offerList{}}}
}

// name numbers a trade or a département.
func (m *Memory) name(s string) uint16 {
	id, ok := m.nameIDs[s]
	if !ok {
		id = uint16(len(m.names))
		m.names = append(m.names, s)
		m.nameIDs[s] = id
	}
	return id
}

// LoadMemory reads every SME's trade, place, past contracts and listed
// offers, in one snapshot whose place in the log it keeps.
func LoadMemory(ctx context.Context, db *pgxpool.Pool) (*Memory, error) {
	m := newMemory(db)
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := m.position(ctx, tx); err != nil {
			return err
		}
		got, err := m.read(ctx, tx, nil)
		if err != nil {
			return err
		}
		m.orgs, m.moreCodes, m.extraGroups, m.extraLists = got.orgs, got.moreCodes, got.extraGroups, got.extraLists
		for g, list := range got.refs {
			slices.SortFunc(list, byOrg)
			m.byGroup[g] = slices.Clone(list)
		}
		for l, list := range got.offers {
			slices.SortFunc(list, byCategory)
			m.offerLists[l] = slices.Clone(list) // not twice the room append left: 3.3 M rows at national scale
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("matching: memory: %w", err)
	}
	m.readAt = time.Now()
	return m, nil
}

func byOrg(a, b memRef) int { return cmp.Compare(a.org, b.org) }

// position reads, in the transaction's snapshot, the last change it sees
// and the transactions it does not see yet.
func (m *Memory) position(ctx context.Context, tx pgx.Tx) error {
	return tx.QueryRow(ctx, `SELECT coalesce((SELECT max(seq) FROM evidence_log), 0),
		array(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x)`).Scan(&m.last, &m.pending)
}

// memRead is what read reads.
type memRead struct {
	orgs        map[int64]memOrg
	refs        map[string][]memRef
	offers      map[offerList][]memOffer
	moreCodes   map[int64][]uint32
	extraGroups map[int64][]uint16
	extraLists  map[int64][]offerList
}

// read reads the organisations given (all when nil), their past
// contracts by group and their listed offers by list. It numbers names:
// the caller owns m.
func (m *Memory) read(ctx context.Context, tx pgx.Tx, ids []int64) (memRead, error) {
	got := memRead{orgs: map[int64]memOrg{}, refs: map[string][]memRef{}, offers: map[offerList][]memOffer{},
		moreCodes: map[int64][]uint32{}, extraGroups: map[int64][]uint16{}, extraLists: map[int64][]offerList{}}
	orgs, refs := got.orgs, got.refs
	// Two statements each, all or some: one "$1 IS NULL OR …" was planned
	// once for both (a generic plan after five runs), and the catch-up then
	// scanned the 3.3 M rows of offers the load reads (seconds, before
	// each ranking).
	some := func(all, where string) (string, []any) {
		if ids == nil {
			return all, nil
		}
		return all + " WHERE " + where, []any{ids}
	}
	query, args := some(`SELECT g.id, g.naf_code, g.departement, `+smeMember+` FROM organisations g`, `g.id = ANY($1)`)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return got, err
	}
	var id int64
	var naf, dep, code string
	var member bool
	if _, err = pgx.ForEachRow(rows, []any{&id, &naf, &dep, &member}, func() error {
		orgs[id] = memOrg{naf: m.name(naf), dep: m.name(dep), member: member}
		return nil
	}); err != nil {
		return got, err
	}
	query, args = some(`SELECT r.organisation_id, r.cpv_code, coalesce(r.year, 0) FROM org_references r`, `r.organisation_id = ANY($1)`)
	rows, err = tx.Query(ctx, query, args...)
	if err != nil {
		return got, err
	}
	var year int32
	if _, err = pgx.ForEachRow(rows, []any{&id, &code, &year}, func() error {
		n, err := strconv.ParseUint(code, 10, 32)
		if err != nil || len(code) != 8 {
			return nil // the table's CHECK keeps 8 digits
		}
		refs[code[:3]] = append(refs[code[:3]], memRef{org: id, code: uint32(n), year: year})
		if o, ok := orgs[id]; ok {
			noteIn(o.groups[:], &o.ngroups, got.extraGroups, id, m.name(code[:3]))
			orgs[id] = o
		}
		return nil
	}); err != nil {
		return got, err
	}
	// Their offers through offers' index on the SME (offer_categories has
	// none: the matching reads it by région and category).
	query, args = some(`SELECT c.region, c.category, c.offer_id, c.organisation_id, c.trl, c.cpv_codes FROM offer_categories c`,
		`c.offer_id IN (SELECT o.id FROM offers o WHERE o.organisation_id = ANY($1))`)
	rows, err = tx.Query(ctx, query, args...)
	if err != nil {
		return got, err
	}
	var region, category string
	var offerID int64
	var trl int
	var codes []string
	_, err = pgx.ForEachRow(rows, []any{&region, &category, &offerID, &id, &trl, &codes}, func() error {
		m.readOffer(got, region, category, offerID, id, trl, codes)
		return nil
	})
	return got, err
}

// CatchUp reads again the SMEs whose evidence changed since the last
// read: the log's rows after the last one read, and those of the
// transactions running then. It returns how many SMEs it read again.
func (m *Memory) CatchUp(ctx context.Context) (int, error) {
	m.update.Lock()
	defer m.update.Unlock()
	if time.Since(m.readAt) > LogRetention/2 { // the log may have lost changes since
		fresh, err := LoadMemory(ctx, m.db)
		if err != nil {
			return 0, err
		}
		m.mu.Lock()
		m.memState = fresh.memState
		m.mu.Unlock()
		return len(fresh.orgs), nil
	}
	started := time.Now()
	var changed []int64
	var got memRead
	next := newMemory(nil) // read aside, its own names: rankings go on meanwhile
	err := pgx.BeginTxFunc(ctx, m.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := next.position(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT organisation_id FROM evidence_log WHERE seq > $1 OR xid = ANY($2::xid8[])`, m.last, m.pending)
		if err != nil {
			return err
		}
		if changed, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil || len(changed) == 0 {
			return err
		}
		got, err = next.read(ctx, tx, changed)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("matching: memory: catch up: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(changed) > 0 {
		m.replace(changed, next, got)
	}
	m.last = max(m.last, next.last)
	m.pending = next.pending
	m.readAt = started
	return len(changed), nil
}

// replace takes the changed SMEs out of the lists they were in, then
// files what got holds of them now, read aside with next's names. The
// caller holds the write lock.
func (m *Memory) replace(changed []int64, next *Memory, got memRead) {
	slices.Sort(changed)
	isChanged := func(org int64) bool { _, ok := slices.BinarySearch(changed, org); return ok }
	// Each list once, however many changed SMEs it held (a catch-up after
	// an import may hold thousands).
	held := map[string]bool{}
	lists := map[offerList]bool{}
	for _, id := range changed {
		old := m.orgs[id]
		for _, g := range append(old.groups[:old.ngroups:old.ngroups], m.extraGroups[id]...) {
			held[m.names[g]] = true
		}
		for _, l := range append(old.lists[:old.nlists:old.nlists], m.extraLists[id]...) {
			lists[l] = true
		}
		delete(m.orgs, id)
		delete(m.extraGroups, id)
		delete(m.extraLists, id)
		if o, ok := got.orgs[id]; ok {
			o.naf, o.dep = m.name(next.names[o.naf]), m.name(next.names[o.dep])
			for k := range o.groups[:o.ngroups] {
				o.groups[k] = m.name(next.names[o.groups[k]])
			}
			for k := range o.lists[:o.nlists] {
				o.lists[k].region = m.name(next.names[o.lists[k].region])
			}
			if extra := got.extraGroups[id]; len(extra) > 0 {
				for k := range extra {
					extra[k] = m.name(next.names[extra[k]])
				}
				m.extraGroups[id] = extra
			}
			if extra := got.extraLists[id]; len(extra) > 0 {
				for k := range extra {
					extra[k].region = m.name(next.names[extra[k].region])
				}
				m.extraLists[id] = extra
			}
			m.orgs[id] = o
		}
	}
	for g := range held {
		m.byGroup[g] = slices.DeleteFunc(m.byGroup[g], func(x memRef) bool { return isChanged(x.org) })
	}
	for g, list := range got.refs {
		m.byGroup[g] = mergeSorted(m.byGroup[g], list, byOrg)
	}
	for l := range lists {
		m.offerLists[l] = slices.DeleteFunc(m.offerLists[l], func(x memOffer) bool {
			if isChanged(x.org) {
				delete(m.moreCodes, x.id)
				return true
			}
			return false
		})
	}
	for l, list := range got.offers {
		l.region = m.name(next.names[l.region])
		m.offerLists[l] = mergeSorted(m.offerLists[l], list, byCategory)
	}
	maps.Copy(m.moreCodes, got.moreCodes)
}

// mergeSorted is list, sorted by cmp, with add put in its place: one
// pass (a list holds up to 100,000 rows) under the write lock instead of
// sorting the whole again.
func mergeSorted[T any](list, add []T, cmp func(a, b T) int) []T {
	slices.SortFunc(add, cmp)
	out := make([]T, 0, len(list)+len(add))
	i, j := 0, 0
	for i < len(list) && j < len(add) {
		if cmp(list[i], add[j]) <= 0 {
			out = append(out, list[i])
			i++
		} else {
			out = append(out, add[j])
			j++
		}
	}
	out = append(out, list[i:]...)
	return append(out, add[j:]...)
}

// classCount counts an SME's past contracts in a request's CPV groups at
// the group, class, category and exact levels, with the latest year of
// each (classReferences' counts).
type classCount struct {
	n, y [4]int // group, class, category, exact
	any  bool
}

// add counts a past contract of the given code and year.
func (c *classCount) add(code string, year int, codes []string) {
	if !hasPrefixOf(code, codes, 3) {
		return
	}
	var at [4]bool
	for k, digits := range []int{3, 4, 5, 6} {
		at[k] = atLeast(code, codes, digits)
	}
	c.addLevels(year, at)
}

// addLevels counts a past contract in the request's groups, of the given
// year, at the levels it reaches (group, class, category, exact).
func (c *classCount) addLevels(year int, at [4]bool) {
	c.any = true
	c.y[0] = max(c.y[0], year)
	for k := range at {
		if at[k] {
			c.n[k]++
			if k > 0 {
				c.y[k] = max(c.y[k], year)
			}
		}
	}
}

// set writes the counts into the evidence.
func (c *classCount) set(e *Evidence) {
	e.RefsAt = [6]int{0, c.n[0], c.n[0], c.n[1], c.n[2], c.n[3]}
	e.LatestAt = [6]int{0, c.y[0], c.y[0], c.y[1], c.y[2], c.y[3]}
	e.Latest = c.y[1]
}

// classReferences is Service.classReferences from memory: every SME with
// a past contract in the request's groups counted, the limit whose counts
// weigh most under the weights kept.
func (m *Memory) classReferences(r Request, w Weights, limit int, get func(int64) *Evidence) {
	var groups []string
	for _, c := range r.CPV {
		if g := c[:min(3, len(c))]; !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	// Each code's levels under the request's (group, class, category,
	// exact), worked out once; every contract listed under one of the
	// request's groups is in them.
	known := map[uint32][4]bool{}
	level := func(code uint32) [4]bool {
		at, ok := known[code]
		if !ok {
			c := fmt.Sprintf("%08d", code)
			for k, digits := range []int{3, 4, 5, 6} {
				at[k] = atLeast(c, r.CPV, digits)
			}
			known[code] = at
		}
		return at
	}
	// count is an SME's contracts in the request's groups from the gi-th
	// on, run being those of that group: all of them when it has none in
	// an earlier group.
	count := func(org int64, gi int, run []memRef) classCount {
		var c classCount
		for _, ref := range run {
			c.addLevels(int(ref.year), level(ref.code))
		}
		for _, h := range groups[gi+1:] {
			for _, ref := range m.refsOf(h, org) {
				c.addLevels(int(ref.year), level(ref.code))
			}
		}
		return c
	}
	m.mu.RLock()
	size := 0
	for _, g := range groups {
		size += len(m.byGroup[g])
	}
	// Every SME scored, as a key alone (a group holds up to 109,000 SMEs:
	// their counts, kept beside each, were 14 MB to allocate and clear
	// for each ranking); the counts of those kept are read again.
	keys := make([]rankKey, 0, size)
	for gi, g := range groups {
		refs := m.byGroup[g]
		for i := 0; i < len(refs); {
			org := refs[i].org
			if gi > 0 && slices.ContainsFunc(groups[:gi], func(h string) bool { return m.holds(h, org) }) {
				for i < len(refs) && refs[i].org == org {
					i++
				}
				continue // counted with an earlier group, all its groups at once
			}
			j := i
			for j < len(refs) && refs[j].org == org {
				j++
			}
			c := count(org, gi, refs[i:j])
			i = j
			n := c.n
			score := w[FRefsGroup]*ln1(n[0]) + w[FRefsClass]*ln1(n[1]) + w[FRefsCategory]*ln1(n[2]) + w[FRefsExact]*ln1(n[3])
			keys = append(keys, rankKey{score, org, int32(len(keys))})
		}
	}
	first := firstKeys(keys, limit)
	counts := make([]classCount, len(first))
	for k, key := range first {
		counts[k] = count(key.org, 0, m.refsOf(groups[0], key.org))
	}
	m.mu.RUnlock()
	for k, key := range first {
		counts[k].set(get(key.org))
	}
}

// ln1 is ln(1+n), read from a table for the small counts most are.
func ln1(n int) float64 {
	if n < len(lnTable) {
		return lnTable[n]
	}
	return math.Log(float64(1 + n))
}

var lnTable = func() (t [256]float64) {
	for n := range t {
		t[n] = math.Log(float64(1 + n))
	}
	return t
}()

// refsOf are an SME's past contracts in a group (the list is sorted by SME).
func (m *Memory) refsOf(group string, org int64) []memRef {
	list := m.byGroup[group]
	i, _ := slices.BinarySearchFunc(list, org, func(x memRef, org int64) int { return cmp.Compare(x.org, org) })
	j := i
	for j < len(list) && list[j].org == org {
		j++
	}
	return list[i:j]
}

// holds tells whether an SME has a past contract in a group.
func (m *Memory) holds(group string, org int64) bool { return len(m.refsOf(group, org)) > 0 }

// org is an organisation's trade, département and membership; ok is
// false when there is none of that id. The caller holds the read lock.
func (m *Memory) org(id int64) (naf, dep string, member, ok bool) {
	o, ok := m.orgs[id]
	return m.names[o.naf], m.names[o.dep], o.member, ok
}

// Size is how many organisations, past contracts and rows of listed
// offers (by région and category) it holds.
func (m *Memory) Size() (orgs, refs, offers int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, list := range m.byGroup {
		refs += len(list)
	}
	for _, list := range m.offerLists {
		offers += len(list)
	}
	return len(m.orgs), refs, offers
}

// Keeper keeps one Memory for the services of a process: loaded once in
// the background (rankings read PostgreSQL alone until then), then
// brought up to date every minute, besides before each ranking, so that
// a ranking has little of the log to read.
type Keeper struct {
	db *pgxpool.Pool
	m  atomic.Pointer[Memory]
	// Loaded, when set, hears how much Run loaded and how long it took
	// (a server logs it, as it logs its search index built).
	Loaded func(orgs, refs, offers int, took time.Duration)
}

// NewKeeper returns a keeper that holds nothing yet (Run loads it).
func NewKeeper(db *pgxpool.Pool) *Keeper { return &Keeper{db: db} }

// Run loads the memory, then keeps it up to date until ctx ends; an error
// is the load's (rankings then read PostgreSQL alone).
func (k *Keeper) Run(ctx context.Context) error {
	start := time.Now()
	m, err := LoadMemory(ctx, k.db)
	if err != nil {
		return err
	}
	k.m.Store(m)
	if k.Loaded != nil {
		orgs, refs, offers := m.Size()
		k.Loaded(orgs, refs, offers, time.Since(start))
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = m.CatchUp(ctx) // a ranking's own catch-up reports a failure
		}
	}
}

// memory is what the keeper holds, nil before it is loaded or without a keeper.
func (k *Keeper) memory() *Memory {
	if k == nil {
		return nil
	}
	return k.m.Load()
}

// UseMemory makes the service rank from the keeper's memory once loaded.
func (s *Service) UseMemory(k *Keeper) { s.keeper.Store(k) }

// MemorySize is how many organisations, past contracts and rows of
// listed offers its memory holds (none before it is loaded).
func (s *Service) MemorySize() (orgs, refs, offers int) {
	m := s.keeper.Load().memory()
	if m == nil {
		return 0, 0, 0
	}
	return m.Size()
}

// KeepInMemory loads the memory now and ranks from it from then on
// (the benchmark and tests; servers run a Keeper).
func (s *Service) KeepInMemory(ctx context.Context) error {
	start := time.Now()
	m, err := LoadMemory(ctx, s.db)
	if err != nil {
		return err
	}
	k := NewKeeper(s.db)
	k.m.Store(m)
	s.UseMemory(k)
	s.trace("memory: loaded", time.Since(start))
	return nil
}

// inMemory is the memory a ranking of r may read, brought up to date;
// nil when there is none or r asks what it does not hold.
func (s *Service) inMemory(ctx context.Context, r Request) (*Memory, error) {
	m := s.keeper.Load().memory()
	if m == nil || s.EvalExhaustive || len(r.EvalExclude) > 0 || r.Among != nil {
		return nil, nil
	}
	start := time.Now()
	if _, err := m.CatchUp(ctx); err != nil {
		return nil, err
	}
	s.trace("memory: caught up", time.Since(start))
	return m, nil
}
