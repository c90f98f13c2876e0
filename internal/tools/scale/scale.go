// Package scale generates realistic fictitious data at national scale, for
// benchmarks and load tests: `passerelle seed --scale N` creates N
// organisations (97 % SMEs), about 3 offers per SME and 1 reference each.
// Company names are invented; every text is composed from real CPV and NAF
// labels and real public-contract objects (DECP), so that search meets the
// vocabulary, accents and word frequencies of real French purchasing.
//
// Rows are written with COPY in one transaction (nothing is half-saved if
// it stops), with the catalogue's secondary indexes dropped during the load
// and rebuilt after, as bulk loaders do.
package scale

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"

	"passerelle/internal/platform/validate"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// Options says how much to generate.
type Options struct {
	Organisations int
	Seed          uint64    // same seed, same data
	Progress      io.Writer // progress bars; nil for none
}

// Stats reports what was written.
type Stats struct {
	Organisations, Offers, References, Certifications int
	Elapsed                                           time.Duration
}

// Generate writes the data.
func Generate(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, opt Options) (Stats, error) {
	start := time.Now()
	if opt.Organisations <= 0 {
		return Stats{}, fmt.Errorf("scale: organisations must be positive")
	}
	p, err := loadPools(tax)
	if err != nil {
		return Stats{}, err
	}
	g := &gen{tax: tax, p: p, seed: opt.Seed, now: time.Now().UTC()}
	if g.taken, err = existingSIRENs(ctx, db); err != nil {
		return Stats{}, err
	}
	var st Stats
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '1GB'`); err != nil {
			return err
		}
		indexes, err := dropIndexes(ctx, tx)
		if err != nil {
			return err
		}
		// One "rebuild" entry in the search change log instead of millions.
		for _, q := range []string{
			`ALTER TABLE offers DISABLE TRIGGER offers_search_change`,
			`ALTER TABLE organisations DISABLE TRIGGER organisations_search_change`,
			// Generated SMEs are new: no open request's matches to recompute.
			`ALTER TABLE offers DISABLE TRIGGER offers_match_change`,
			`ALTER TABLE org_references DISABLE TRIGGER references_match_change`,
			// The matching's narrow copy of offers by category, filled at once below.
			`ALTER TABLE offers DISABLE TRIGGER offers_categories`,
			`ALTER TABLE offers DISABLE TRIGGER offers_categories_update`,
			// New SMEs: a server's memory of evidence reads them when it loads.
			`ALTER TABLE organisations DISABLE TRIGGER organisations_evidence_insert`,
			`ALTER TABLE org_references DISABLE TRIGGER references_evidence_insert`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		var first int64
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('organisations', 'id'))`).Scan(&first); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('organisations', 'id'), $1)`, first+int64(opt.Organisations)); err != nil {
			return err
		}
		g.firstID = first
		g.sirens = g.allocSIRENs(opt.Organisations)

		n := opt.Organisations
		copyTable := func(label, table string, cols []string, each func(i int, emit func(row []any))) (int, error) {
			bar := newBar(opt.Progress, n, label)
			src := &rowSource{n: n, each: each, bar: bar}
			c, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
			_ = bar.Finish()
			return int(c), err
		}
		if st.Organisations, err = copyTable("organisations ", "organisations", orgCols, g.orgRows); err != nil {
			return fmt.Errorf("scale: copy organisations: %w", err)
		}
		if st.Certifications, err = copyTable("certifications", "certifications", certCols, g.certRows); err != nil {
			return fmt.Errorf("scale: copy certifications: %w", err)
		}
		if st.Offers, err = copyTable("offers        ", "offers", offerCols, g.offerRows); err != nil {
			return fmt.Errorf("scale: copy offers: %w", err)
		}
		if st.References, err = copyTable("references    ", "org_references", refCols, g.refRows); err != nil {
			return fmt.Errorf("scale: copy references: %w", err)
		}
		bar := newBar(opt.Progress, len(indexes), "indexes       ")
		for _, def := range indexes {
			if _, err := tx.Exec(ctx, def); err != nil {
				return fmt.Errorf("scale: rebuild index: %s: %w", def, err)
			}
			_ = bar.Add(1)
		}
		_ = bar.Finish()
		for _, q := range []string{
			`ALTER TABLE offers ENABLE TRIGGER offers_search_change`,
			`ALTER TABLE organisations ENABLE TRIGGER organisations_search_change`,
			`ALTER TABLE offers ENABLE TRIGGER offers_match_change`,
			`ALTER TABLE org_references ENABLE TRIGGER references_match_change`,
			`ALTER TABLE offers ENABLE TRIGGER offers_categories`,
			`ALTER TABLE offers ENABLE TRIGGER offers_categories_update`,
			`ALTER TABLE organisations ENABLE TRIGGER organisations_evidence_insert`,
			`ALTER TABLE org_references ENABLE TRIGGER references_evidence_insert`,
			`INSERT INTO search_changes (list) VALUES ('all')`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO offer_categories SELECT * FROM offer_category_rows WHERE organisation_id >= $1`, first); err != nil {
			return fmt.Errorf("scale: offers by category: %w", err)
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	for _, t := range []string{"organisations", "offers", "org_references", "certifications"} {
		if _, err := db.Exec(ctx, "ANALYZE "+t); err != nil {
			return Stats{}, err
		}
	}
	// Its pages marked all-visible, so that the matching reads it from the index alone.
	if _, err := db.Exec(ctx, "VACUUM (ANALYZE) offer_categories"); err != nil {
		return Stats{}, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

func newBar(w io.Writer, n int, label string) *progressbar.ProgressBar {
	if w == nil {
		w = io.Discard
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("org"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// dropIndexes drops the secondary, non-unique indexes of the tables being
// loaded and returns their definitions, read from the catalogue, so they
// are rebuilt exactly as the migrations made them.
func dropIndexes(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename IN ('organisations', 'offers', 'org_references', 'certifications')
		  AND indexdef NOT LIKE 'CREATE UNIQUE%'`)
	if err != nil {
		return nil, err
	}
	type idx struct{ name, def string }
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idx, error) {
		var i idx
		return i, r.Scan(&i.name, &i.def)
	})
	if err != nil {
		return nil, err
	}
	defs := make([]string, len(list))
	for i, x := range list {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{x.name}.Sanitize()); err != nil {
			return nil, err
		}
		defs[i] = x.def
	}
	return defs, nil
}

func existingSIRENs(ctx context.Context, db *pgxpool.Pool) (map[string]bool, error) {
	rows, err := db.Query(ctx, `SELECT siren FROM organisations`)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m, err
}

// rowSource feeds COPY: for each organisation i it asks each for the rows.
type rowSource struct {
	n, i  int
	each  func(i int, emit func(row []any))
	queue [][]any
	cur   []any
	bar   *progressbar.ProgressBar
}

func (s *rowSource) Next() bool {
	for len(s.queue) == 0 {
		if s.i >= s.n {
			return false
		}
		s.each(s.i, func(row []any) { s.queue = append(s.queue, row) })
		s.i++
		if s.i%1000 == 0 || s.i == s.n {
			_ = s.bar.Set(s.i)
		}
	}
	s.cur, s.queue = s.queue[0], s.queue[1:]
	return true
}

func (s *rowSource) Values() ([]any, error) { return s.cur, nil }
func (s *rowSource) Err() error             { return nil }

// gen composes organisation i and everything it owns from a random source
// seeded by (seed, i): each table's pass recomposes the same organisation.
type gen struct {
	tax     *taxonomy.Taxonomy
	p       *pools
	seed    uint64
	now     time.Time
	taken   map[string]bool
	sirens  []string
	firstID int64
}

// allocSIRENs returns n valid (Luhn) SIRENs no organisation has yet.
func (g *gen) allocSIRENs(n int) []string {
	out := make([]string, 0, n)
	for base := 70000000; len(out) < n; base++ {
		s := strconv.Itoa(base)
		for d := 0; d <= 9; d++ {
			if c := s + strconv.Itoa(d); taxonomy.ValidSIREN(c) {
				if !g.taken[c] {
					out = append(out, c)
				}
				break
			}
		}
	}
	return out
}

type org struct {
	id                          int64
	siren, name, kind, naf      string
	nafLabel                    string
	band, dept, status, website string
	description, extra          string
	places                      []search.Place
	created                     time.Time
	certs                       []cert
	offers                      []offer
	refs                        []contract
}

type cert struct {
	name, issuer string
	expires      *time.Time
}

type offer struct {
	title, summary, description, kind, keywords, cpvText, status string
	cpvs                                                         []string
	trl                                                          int
	places                                                       []search.Place
}

var offerKinds = []string{"product", "service", "technology", "rd_partnership"}

func (g *gen) compose(i int) org {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	o := org{id: g.firstID + int64(i), siren: g.sirens[i]}
	o.created = g.now.Add(-time.Duration(r.IntN(5*365*24)) * time.Hour)
	switch x := r.IntN(100); {
	case x < 3:
		o.kind = []string{"ge", "public"}[r.IntN(2)]
	case x < 15:
		o.kind = "eti"
	default:
		o.kind = "pme"
	}
	switch x := r.IntN(100); {
	case x < 92:
		o.status = "member"
	case x < 97:
		o.status = "applied"
	case x < 99:
		o.status = "suspended"
	default:
		o.status = "left"
	}
	o.name = pick(r, nameStarts) + pick(r, nameMiddles) + pick(r, nameEnds) + pick(r, nameWords) + " " + pick(r, legalForms)
	// An SME is built around one real activity: its NAF code, and contracts
	// that suppliers with that code really won, for its codes and texts.
	act := g.p.activityAt(r.IntN(1 << 30))
	naf := act.naf
	if o.kind != "pme" && o.kind != "eti" {
		naf = g.p.nafs[r.IntN(len(g.p.nafs))] // a buyer: any trade
	}
	o.naf, o.nafLabel = naf.Code, naf.Label
	o.band = g.p.band(o.kind, r.IntN(1<<30))
	dept := g.p.depts[r.IntN(len(g.p.depts))]
	o.dept = dept.Code
	if r.IntN(3) == 0 {
		o.website = "https://www." + strings.ToLower(strings.Map(asciiOnly, o.name[:min(len(o.name), 12)])) + ".example"
	}
	contractIn := func() contract {
		return g.p.contracts[act.contracts[r.IntN(len(act.contracts))]]
	}
	// Places served: its own département, sometimes neighbours or its region.
	switch x := r.IntN(10); {
	case x < 5:
		o.places = []search.Place{taxonomy.DepPlace(dept.Code)}
	case x < 8:
		o.places = []search.Place{taxonomy.RegPlace(dept.RegionCode)}
	default:
		o.places = []search.Place{taxonomy.DepPlace(dept.Code), taxonomy.DepPlace(g.p.depts[r.IntN(len(g.p.depts))].Code)}
	}
	if o.kind == "pme" || o.kind == "eti" {
		a, b := contractIn(), contractIn()
		o.description = fmt.Sprintf("%s spécialisée en %s. Nous intervenons notamment pour : %s ; %s.",
			pick(r, []string{"Entreprise", "PME", "Société", "Équipe"}), strings.ToLower(naf.Label), a.object, b.object)
		if r.IntN(5) == 0 {
			for k := 0; k < 1+r.IntN(2); k++ {
				c := cert{name: pick(r, certNames), issuer: pick(r, []string{"AFNOR Certification", "Bureau Veritas", "Qualibat", "SGS", "LNE"})}
				exp := g.now.AddDate(0, r.IntN(48)-12, 0) // a quarter of them expired
				c.expires = &exp
				o.certs = append(o.certs, c)
			}
		}
		for k := r.IntN(7); k > 0; k-- { // 0–6 offers, 3 on average
			o.offers = append(o.offers, g.composeOffer(r, contractIn(), o))
		}
		for k := r.IntN(3); k > 0; k-- { // 0–2 references, 1 on average
			o.refs = append(o.refs, contractIn())
		}
		var extra []string
		extra = append(extra, naf.Label)
		for _, c := range o.certs {
			extra = append(extra, c.name)
		}
		for _, c := range o.refs {
			extra = append(extra, c.object)
		}
		for _, of := range o.offers {
			if of.status == "published" {
				extra = append(extra, of.title+" "+of.keywords)
			}
		}
		o.extra = strings.Join(extra, " · ")
	} else {
		o.description = "Acheteur " + strings.ToLower(naf.Label) + "."
	}
	return o
}

func (g *gen) composeOffer(r *rand.Rand, c contract, o org) offer {
	cv, _ := g.tax.CPV(c.cpv)
	of := offer{kind: pick(r, offerKinds), cpvs: []string{c.cpv}, places: o.places}
	// A second code from the same family: its parent or a sibling.
	if r.IntN(2) == 0 && cv.Parent != "" {
		of.cpvs = append(of.cpvs, cv.Parent)
	}
	label := cv.LabelFR
	of.title = validate.Shorten(pick(r, offerLeads)+" "+lowerFirst(label), 150)
	of.summary = validate.Shorten(pick(r, summaryLeads)+" "+lowerFirst(c.object)+".", 300)
	of.description = validate.Shorten(fmt.Sprintf("%s Références : %s (%s, %d). Intervention en %s.",
		of.summary, c.object, c.buyer, c.year, lowerFirst(o.nafLabel)), 5000)
	words := strings.Fields(strings.Map(keepLetters, strings.ToLower(label)))
	var kw []string
	for _, w := range words {
		if len([]rune(w)) > 4 && len(kw) < 4 {
			kw = append(kw, w)
		}
	}
	of.keywords = strings.Join(kw, ", ")
	var labels []string
	for _, code := range of.cpvs {
		if x, ok := g.tax.CPV(code); ok {
			labels = append(labels, x.LabelFR)
		}
	}
	of.cpvText = strings.Join(labels, " · ")
	if r.IntN(5) > 0 {
		of.trl = 3 + r.IntN(7)
	}
	switch x := r.IntN(100); {
	case x < 80:
		of.status = "published"
	case x < 88:
		of.status = "draft"
	case x < 93:
		of.status = "submitted"
	case x < 98:
		of.status = "archived"
	default:
		of.status = "rejected"
	}
	return of
}

func (g *gen) certified(o org) bool {
	for _, c := range o.certs {
		if c.expires == nil || c.expires.After(g.now) {
			return true
		}
	}
	return false
}

var orgCols = []string{"id", "siren", "legal_name", "kind", "naf_code", "headcount_band", "departement", "website",
	"description", "status", "created_at", "decided_at", "places", "search_extra", "facets", "updated_at"}

func (g *gen) orgRows(i int, emit func([]any)) {
	o := g.compose(i)
	facets := []string{}
	if o.kind == "pme" || o.kind == "eti" {
		f := search.OrgFacts{Kind: o.kind, HeadcountBand: o.band, Departement: o.dept, Places: o.places, Certified: g.certified(o)}
		for _, of := range o.offers {
			if of.status == "published" {
				f.CPVCodes = append(f.CPVCodes, of.cpvs...)
			}
		}
		for _, c := range o.refs {
			f.CPVCodes = append(f.CPVCodes, c.cpv)
		}
		facets = search.OrgFacets(g.tax, f)
	}
	var decided any
	if o.status != "applied" {
		decided = o.created.Add(48 * time.Hour)
	}
	emit([]any{o.id, o.siren, o.name, o.kind, o.naf, o.band, o.dept, o.website, o.description, o.status, o.created,
		decided, placesText(o.places), o.extra, facets, o.created})
}

var certCols = []string{"organisation_id", "name", "issuer", "expires_on"}

func (g *gen) certRows(i int, emit func([]any)) {
	o := g.compose(i)
	for _, c := range o.certs {
		emit([]any{o.id, c.name, c.issuer, c.expires})
	}
}

var offerCols = []string{"organisation_id", "title", "summary", "description", "kind", "cpv_codes", "trl", "places",
	"keywords", "cpv_text", "status", "status_reason", "facets", "created_at", "updated_at", "submitted_at", "published_at"}

func (g *gen) offerRows(i int, emit func([]any)) {
	o := g.compose(i)
	cert := g.certified(o)
	for k, of := range o.offers {
		created := o.created.Add(time.Duration(k+1) * 24 * time.Hour)
		var trl, submitted, published any
		if of.trl > 0 {
			trl = of.trl
		}
		if of.status != "draft" {
			submitted = created.Add(time.Hour)
		}
		if of.status == "published" || of.status == "archived" {
			published = created.Add(26 * time.Hour)
		}
		reason := ""
		if of.status == "rejected" {
			reason = "Merci de préciser le niveau de maturité (TRL) et les références."
		}
		facets := search.OfferFacets(g.tax, search.OfferFacts{CPVCodes: of.cpvs, TRL: of.trl, Kind: of.kind,
			Places: of.places, HeadcountBand: o.band, Certified: cert})
		emit([]any{o.id, of.title, of.summary, of.description, of.kind, of.cpvs, trl, placesText(of.places),
			of.keywords, of.cpvText, of.status, reason, facets, created, created, submitted, published})
	}
}

var refCols = []string{"organisation_id", "client", "object", "cpv_code", "amount_eur", "year", "departement", "source"}

func (g *gen) refRows(i int, emit func([]any)) {
	o := g.compose(i)
	for _, c := range o.refs {
		var amount any
		if c.amount > 0 {
			amount = c.amount
		}
		emit([]any{o.id, validate.Shorten(c.buyer, 200), validate.Shorten(c.object, 1000), c.cpv, amount, c.year, c.dept, "manual"})
	}
}

func placesText(ps []search.Place) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 1 && !(r[1] >= 'A' && r[1] <= 'Z') { // keep acronyms
		r[0] = []rune(strings.ToLower(string(r[0])))[0]
	}
	return string(r)
}

func asciiOnly(r rune) rune {
	if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
		return r
	}
	return -1
}

func keepLetters(r rune) rune {
	if r == '\'' || r == ',' || r == '(' || r == ')' || r == '-' {
		return ' '
	}
	return r
}
