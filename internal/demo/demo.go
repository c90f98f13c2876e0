// Package demo loads the demonstration data `make run` shows: one account
// for each role and a few pending applications, so that no screen starts
// empty. The organisations are real public buyers and suppliers taken from
// public award data (DECP) and SIRENE. Loading is idempotent: it creates
// what is missing and never touches what users created. It is refused in
// production.
package demo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/refdata"
	"passerelle/internal/taxonomy"
)

// Password is the password of every demo account (development only).
const Password = "passerelle-demo"

// ErrProduction refuses demo data in production.
var ErrProduction = errors.New("demo: demo data is refused when PASSERELLE_ENV=production")

// Account is a demo sign-in shown in the start-up banner.
type Account struct {
	Email string
	Role  string
}

type org struct {
	siren, name, naf, dept, band string
	kind                         member.Kind
	status                       member.Status
	userEmail, userName          string
	role                         member.Role
}

// Seed creates what is missing of the demo data and returns the demo accounts.
func Seed(ctx context.Context, db *pgxpool.Pool, production bool) ([]Account, error) {
	if production {
		return nil, ErrProduction
	}
	orgs, err := pick()
	if err != nil {
		return nil, err
	}
	hash, err := member.HashPassword(Password)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, o := range orgs {
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM organisations WHERE siren = $1 AND status NOT IN ('rejected', 'left')`, o.siren).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status, decided_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = 'member'::membership_status THEN now() END) RETURNING id`,
					o.siren, o.name, o.kind, o.naf, o.band, o.dept, o.status).Scan(&id)
			}
			if err != nil {
				return fmt.Errorf("demo: organisation %s: %w", o.siren, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING`, id, o.userEmail, o.userName, hash, o.role); err != nil {
				return fmt.Errorf("demo: user %s: %w", o.userEmail, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []Account{
		{"admin@passerelle.test", "admin (association)"},
		{"equipe@passerelle.test", "staff (association)"},
		{"acheteur@passerelle.test", "buyer: " + orgs[2].name},
		{"pme@passerelle.test", "SME: " + orgs[3].name},
	}, nil
}

// pick chooses the demo organisations from the embedded public data.
func pick() ([]org, error) {
	tax, err := taxonomy.Load()
	if err != nil {
		return nil, err
	}
	assoc := org{siren: associationSIREN(), name: "Association Passerelle (démonstration)", kind: member.KindAssociation,
		naf: "94.99Z", dept: "75", band: "03", status: member.StatusMember}
	orgs := []org{
		withUser(assoc, "admin@passerelle.test", "Alice Administratrice", member.RoleAdmin),
		withUser(assoc, "equipe@passerelle.test", "Étienne Équipe", member.RoleStaff),
	}

	// NAF code and département of each supplier, from SIRENE.
	type est struct{ naf, dept string }
	sirene := map[string]est{}
	if err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		if _, ok := tax.NAF(r["activite_principale"]); ok && r["nomenclature_activite"] == "NAFRev2" {
			if _, ok := tax.Departement(r["departement"]); ok {
				sirene[r["siren"]] = est{r["activite_principale"], r["departement"]}
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var buyer *org
	var smes []org
	seen := map[string]bool{}
	if err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["probleme_encodage"] != "0" || r["titulaires_type_id"] != "SIRET" {
			return nil
		}
		if buyer == nil && r["acheteur_nom"] != "" && len(r["acheteur_siret"]) == 14 {
			if _, ok := tax.Departement(r["lieu_departement"]); ok && taxonomy.ValidSIREN(r["acheteur_siret"][:9]) {
				b := withUser(org{siren: r["acheteur_siret"][:9], name: r["acheteur_nom"], kind: member.KindPublic,
					naf: "84.11Z", dept: r["lieu_departement"], band: "32", status: member.StatusMember},
					"acheteur@passerelle.test", "Bérénice Acheteuse", member.RoleOwner)
				buyer = &b
			}
		}
		siren := r["titulaires_ids"][:min(9, len(r["titulaires_ids"]))]
		e, ok := sirene[siren]
		if !ok || seen[siren] || len(smes) >= 4 || !taxonomy.ValidSIREN(siren) {
			return nil
		}
		seen[siren] = true
		smes = append(smes, org{siren: siren, name: r["titulaires_noms"], kind: member.KindPME, naf: e.naf, dept: e.dept, band: "11"})
		return nil
	}); err != nil {
		return nil, err
	}
	if buyer == nil || len(smes) < 4 {
		return nil, errors.New("demo: the embedded data has too few usable rows")
	}
	orgs = append(orgs, *buyer)
	sme := smes[0]
	sme.status = member.StatusMember
	orgs = append(orgs, withUser(sme, "pme@passerelle.test", "Paul Pémiste", member.RoleOwner))
	for i, p := range smes[1:] {
		p.status = member.StatusApplied
		orgs = append(orgs, withUser(p, "candidat"+strconv.Itoa(i+1)+"@passerelle.test", "Candidat "+strconv.Itoa(i+1), member.RoleOwner))
	}
	return orgs, nil
}

func withUser(o org, email, name string, role member.Role) org {
	o.userEmail, o.userName, o.role = email, name, role
	return o
}

// associationSIREN is the first valid SIREN starting with 999: the demo
// association is fictional and must not collide with a real company.
func associationSIREN() string {
	for n := 999000000; ; n++ {
		if s := strconv.Itoa(n); taxonomy.ValidSIREN(s) {
			return s
		}
	}
}
