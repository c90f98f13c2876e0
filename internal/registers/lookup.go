package registers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
)

// Entry is what the SIRENE register says of a SIREN, as the reader may
// see it: Name and Address are empty when INSEE withholds them (a
// partially diffusible unit) or when they are a person's (an individual
// entrepreneur) and the reader is neither staff nor that member.
type Entry struct {
	SIREN         string
	Found         bool // the register holds the SIREN
	Withheld      bool // partially diffusible: INSEE publishes only part of it
	Individual    bool // an entrepreneur individuel: its name is a person's
	Name          string
	Category      string // PME, ETI, GE or "" (not computed by INSEE)
	CategoryYear  int
	HeadcountBand string
	NAFCode       string
	LegalForm     string // INSEE's catégorie juridique (7xxx: a public body)
	Active        bool   // false: ceased
	Address       string
	Postcode      string
	City          string
	Departement   string // of the head office
}

// Reader is who reads an entry: Private allows the names of persons
// (staff, or the member whose SIREN it is).
type Reader struct{ Private bool }

// Lookup reads one SIREN from the register (its unit and head office).
func Lookup(ctx context.Context, db *pgxpool.Pool, siren string, r Reader) (Entry, error) {
	found, err := lookupAll(ctx, db, []string{siren}, r)
	if e, ok := found[siren]; ok || err != nil {
		return e, err
	}
	return Entry{SIREN: siren}, nil
}

// lookupAll reads several SIRENs in one query; those the register does
// not hold are absent from the map.
func lookupAll(ctx context.Context, db *pgxpool.Pool, sirens []string, r Reader) (map[string]Entry, error) {
	rows, err := db.Query(ctx, `SELECT u.siren, u.diffusion = 'P', u.individual, u.name, u.category, u.category_year, u.headcount_band, u.naf_code,
			u.legal_form, u.active, coalesce(e.address, ''), coalesce(e.postcode, ''), coalesce(e.city, ''), coalesce(e.departement, '')
		FROM sirene_units u
		LEFT JOIN LATERAL (SELECT * FROM sirene_establishments e WHERE e.siren = u.siren
			ORDER BY e.siret = u.siren || u.head_nic DESC, e.head DESC, e.active DESC, e.siret LIMIT 1) e ON true
		WHERE u.siren = ANY($1)`, sirens)
	if err != nil {
		return nil, fmt.Errorf("registers: lookup: %w", err)
	}
	out := map[string]Entry{}
	var e Entry
	var year *int16
	_, err = pgx.ForEachRow(rows, []any{&e.SIREN, &e.Withheld, &e.Individual, &e.Name, &e.Category, &year, &e.HeadcountBand, &e.NAFCode,
		&e.LegalForm, &e.Active, &e.Address, &e.Postcode, &e.City, &e.Departement}, func() error {
		x := e
		x.Found, x.CategoryYear = true, 0
		if year != nil {
			x.CategoryYear = int(*year)
		}
		if x.Withheld || (x.Individual && !r.Private) {
			x.Name, x.Address = "", ""
		}
		out[x.SIREN] = x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registers: lookup: %w", err)
	}
	return out, nil
}

// Kind is the applicant kind the register suggests: a public body (legal
// category 7…) is a public buyer, otherwise INSEE's category; "" when
// unknown.
func (e Entry) Kind() string {
	if strings.HasPrefix(e.LegalForm, "7") {
		return "public"
	}
	switch e.Category {
	case "PME":
		return "pme"
	case "ETI":
		return "eti"
	case "GE":
		return "ge"
	}
	return ""
}

// Declared is what an applicant typed about its organisation.
type Declared struct {
	SIREN, Kind, NAFCode, Departement string
}

// Check is what staff read beside an application: the register's entry
// (names of persons included) and where it disagrees with the applicant.
type Check struct {
	Entry      Entry
	SizeFlag   bool // declared PME (or ETI) while INSEE classes it larger
	NAFDiffers bool
	DepDiffers bool
	Ceased     bool
	Absent     bool
}

// ErrForbidden is a reader the register's rules do not allow.
var ErrForbidden = errors.New("registers: forbidden")

// Compare reads the applicants' SIRENs in the register in one query, for
// staff only (they see the names of persons): a check per SIREN.
func Compare(ctx context.Context, db *pgxpool.Pool, actor member.Actor, declared []Declared) (map[string]Check, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	sirens := make([]string, len(declared))
	for i, d := range declared {
		sirens[i] = d.SIREN
	}
	found, err := lookupAll(ctx, db, sirens, Reader{Private: true})
	if err != nil {
		return nil, err
	}
	rank := map[string]int{"pme": 1, "eti": 2, "ge": 3, "PME": 1, "ETI": 2, "GE": 3}
	out := map[string]Check{}
	for _, d := range declared {
		e, ok := found[d.SIREN]
		if !ok {
			out[d.SIREN] = Check{Entry: Entry{SIREN: d.SIREN}, Absent: true}
			continue
		}
		out[d.SIREN] = Check{Entry: e, SizeFlag: rank[d.Kind] > 0 && rank[e.Category] > rank[d.Kind],
			NAFDiffers: e.NAFCode != "" && e.NAFCode != d.NAFCode, DepDiffers: e.Departement != "" && e.Departement != d.Departement,
			Ceased: !e.Active}
	}
	return out, nil
}
