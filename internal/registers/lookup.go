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
	e := Entry{SIREN: siren}
	var year *int16
	err := db.QueryRow(ctx, `SELECT u.diffusion = 'P', u.individual, u.name, u.category, u.category_year, u.headcount_band, u.naf_code, u.legal_form, u.active,
			coalesce(e.address, ''), coalesce(e.postcode, ''), coalesce(e.city, ''), coalesce(e.departement, '')
		FROM sirene_units u
		LEFT JOIN LATERAL (SELECT * FROM sirene_establishments e WHERE e.siren = u.siren
			ORDER BY e.siret = u.siren || u.head_nic DESC, e.head DESC, e.active DESC, e.siret LIMIT 1) e ON true
		WHERE u.siren = $1`, siren).Scan(&e.Withheld, &e.Individual, &e.Name, &e.Category, &year, &e.HeadcountBand, &e.NAFCode, &e.LegalForm, &e.Active,
		&e.Address, &e.Postcode, &e.City, &e.Departement)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, nil
	}
	if err != nil {
		return e, fmt.Errorf("registers: lookup %s: %w", siren, err)
	}
	e.Found = true
	if year != nil {
		e.CategoryYear = int(*year)
	}
	if e.Withheld || (e.Individual && !r.Private) {
		e.Name, e.Address = "", ""
	}
	return e, nil
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
	Entry       Entry
	SizeFlag    bool // declared PME (or ETI) while INSEE classes it larger
	NAFDiffers  bool
	DepDiffers  bool
	Ceased      bool
	Absent      bool
	CategoryGap bool // INSEE computed no category
}

// ErrForbidden is a reader the register's rules do not allow.
var ErrForbidden = errors.New("registers: forbidden")

// Compare reads the applicant's SIREN in the register, for staff only
// (they see the names of persons).
func Compare(ctx context.Context, db *pgxpool.Pool, actor member.Actor, d Declared) (Check, error) {
	if !actor.IsStaff() {
		return Check{}, ErrForbidden
	}
	e, err := Lookup(ctx, db, d.SIREN, Reader{Private: true})
	if err != nil {
		return Check{}, err
	}
	c := Check{Entry: e, Absent: !e.Found}
	if !e.Found {
		return c, nil
	}
	rank := map[string]int{"pme": 1, "eti": 2, "ge": 3, "PME": 1, "ETI": 2, "GE": 3}
	c.SizeFlag = rank[d.Kind] > 0 && rank[e.Category] > rank[d.Kind]
	c.NAFDiffers = e.NAFCode != "" && e.NAFCode != d.NAFCode
	c.DepDiffers = e.Departement != "" && e.Departement != d.Departement
	c.Ceased = !e.Active
	c.CategoryGap = e.Category == ""
	return c, nil
}
