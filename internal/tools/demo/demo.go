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
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/platform/validate"
	"passerelle/internal/profile"
	"passerelle/internal/registers"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// Password is the password of every demo account (development only).
const Password = "passerelle-demo"

// SMEEmail is the demo SME's account: its profile starts filled.
const SMEEmail = "pme@passerelle.test"

// SME2Email is a second member SME's account, which answers the demo
// buyer's request beside the demo SME.
const SME2Email = "pme2@passerelle.test"

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
	tax, err := taxonomy.Load()
	if err != nil {
		return nil, err
	}
	// The registers a development machine starts with: the shipped sample,
	// loaded by the imports a deployment runs on the national files.
	var loaded bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sirene_units) AND EXISTS (SELECT 1 FROM decp_contracts)`).Scan(&loaded); err != nil {
		return nil, err
	}
	if !loaded {
		if _, _, err := registers.ImportSample(ctx, db); err != nil {
			return nil, fmt.Errorf("demo: registers sample: %w", err)
		}
	}
	awards, err := refdata.ReadAwards()
	if err != nil {
		return nil, err
	}
	won := refdata.AwardsBySIREN(awards)
	orgs, err := pick(tax, won)
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
			if o.userEmail == SMEEmail {
				if err := fillSME(ctx, tx, tax, id, o, won[o.siren]); err != nil {
					return fmt.Errorf("demo: profile of %s: %w", o.siren, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := seedRequests(ctx, db, tax, awards); err != nil {
		return nil, err
	}
	if err := seedIndicators(ctx, db); err != nil {
		return nil, err
	}
	if err := seedPlans(ctx, db); err != nil {
		return nil, err
	}
	return []Account{
		{"admin@passerelle.test", "admin (association)"},
		{"equipe@passerelle.test", "staff (association)"},
		{"acheteur@passerelle.test", "buyer: " + orgs[2].name},
		{SMEEmail, "SME: " + orgs[3].name},
	}, nil
}

// pick chooses the demo organisations from the embedded public data; won
// are the contracts of each supplier.
func pick(tax *taxonomy.Taxonomy, won map[string][]refdata.Award) ([]org, error) {
	assoc := org{siren: associationSIREN(), name: "Association Passerelle (démonstration)", kind: member.KindAssociation,
		naf: "94.99Z", dept: "75", band: "03", status: member.StatusMember}
	orgs := []org{
		withUser(assoc, "admin@passerelle.test", "Alice Administratrice", member.RoleAdmin),
		withUser(assoc, "equipe@passerelle.test", "Étienne Équipe", member.RoleStaff),
	}

	// NAF code and département of each supplier, from SIRENE.
	type est struct{ naf, section, dept string }
	sirene := map[string]est{}
	if err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		if _, ok := tax.NAF(r["activite_principale"]); ok && r["nomenclature_activite"] == "NAFRev2" {
			if _, ok := tax.Departement(r["departement"]); ok {
				sirene[r["siren"]] = est{naf: r["activite_principale"], section: r["section_naf"], dept: r["departement"]}
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
		// A buyer whose contracts are dated, so the observatory of public
		// buyers measures its share beside what it declares.
		if buyer == nil && r["acheteur_nom"] != "" && len(r["acheteur_siret"]) == 14 && r["date_notification"] >= "2018" {
			if _, ok := tax.Departement(r["lieu_departement"]); ok && taxonomy.ValidSIREN(r["acheteur_siret"][:9]) {
				b := withUser(org{siren: r["acheteur_siret"][:9], name: r["acheteur_nom"], kind: member.KindPublic,
					naf: "84.11Z", dept: r["lieu_departement"], band: "32", status: member.StatusMember},
					"acheteur@passerelle.test", "Bérénice Acheteuse", member.RoleOwner)
				buyer = &b
			}
		}
		siren := r["titulaires_ids"][:min(9, len(r["titulaires_ids"]))]
		e, ok := sirene[siren]
		if !ok || seen[siren] || len(smes) >= 40 || !taxonomy.ValidSIREN(siren) {
			return nil
		}
		seen[siren] = true
		smes = append(smes, org{siren: siren, name: r["titulaires_noms"], kind: member.KindPME, naf: e.naf, dept: e.dept, band: "11"})
		return nil
	}); err != nil {
		return nil, err
	}
	if buyer == nil || len(smes) < 5 {
		return nil, errors.New("demo: the embedded data has too few usable rows")
	}
	orgs = append(orgs, *buyer)
	// The demo SME is a supplier that looks like one: a trade where small
	// firms are the rule (works, manufacturing, IT, engineering, building
	// services), contracts won alone, all local (at most two départements)
	// and under 1 M€ HT; the one with the most such contracts, so that its
	// profile shows what importing references gives. The data's biggest
	// winners are insurers, energy suppliers and national groups' branches.
	sme, most := org{}, 0
	for _, siren := range slices.Sorted(maps.Keys(won)) {
		e, ok := sirene[siren]
		if !ok || !slices.Contains([]string{"C", "F", "J", "M", "N"}, e.section) || !taxonomy.ValidSIREN(siren) {
			continue
		}
		alone, name, depts, local := 0, "", map[string]bool{}, true
		for _, a := range won[siren] {
			if len(a.Winners) != 1 || a.Damaged {
				continue
			}
			alone++
			name = a.WinnerNames
			depts[a.Departement] = true
			local = local && a.AmountEUR <= 1_000_000 && len(depts) <= 2
		}
		if local && alone > most {
			sme, most = org{siren: siren, name: name, kind: member.KindPME, naf: e.naf, dept: e.dept, band: "11"}, alone
		}
	}
	if most == 0 {
		return nil, errors.New("demo: no supplier fit to be the demo SME in the embedded data")
	}
	sme.status = member.StatusMember
	orgs = append(orgs, withUser(sme, SMEEmail, "Paul Pémiste", member.RoleOwner))
	smes = slices.DeleteFunc(smes, func(o org) bool { return o.siren == sme.siren })
	for i, p := range smes[:3] {
		p.status = member.StatusApplied
		orgs = append(orgs, withUser(p, "candidat"+strconv.Itoa(i+1)+"@passerelle.test", "Candidat "+strconv.Itoa(i+1), member.RoleOwner))
	}
	second := smes[3]
	second.status = member.StatusMember
	orgs = append(orgs, withUser(second, SME2Email, "Sarah Seconde", member.RoleOwner))
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

// demoStatuses are the states the demo SME's offers start in: one of each,
// so its "my offers" page shows the whole lifecycle.
var demoStatuses = []string{"published", "published", "submitted", "draft", "rejected", "archived"}

// demoTitles vary the demo SME's offer titles around its CPV labels.
var demoTitles = []string{"%s pour les acheteurs publics", "%s : contrats pluriannuels par lots", "%s : intervention sous 48 heures",
	"%s pour les établissements recevant du public", "%s : offre pour les petites communes", "%s : audit et plan d'action"}

// fillSME gives the demo SME what a member's profile becomes: a
// description of its trade, the places it serves, a certification, its
// real public contracts as references, and an offer in each status. Done
// once: an SME that already has offers is left as it is.
func fillSME(ctx context.Context, tx pgx.Tx, tax *taxonomy.Taxonomy, orgID int64, o org, awards []refdata.Award) error {
	var offers int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM offers WHERE organisation_id = $1`, orgID).Scan(&offers); err != nil {
		return err
	}
	if offers > 0 {
		return nil
	}
	var usable []refdata.Award // contracts with a CPV 2008 code
	for _, a := range awards {
		if _, ok := tax.CPV(a.CPV); ok && !a.Damaged && a.Object != "" {
			usable = append(usable, a)
		}
	}
	if len(usable) == 0 {
		return errors.New("no usable contract for the demo SME")
	}
	naf, _ := tax.NAF(o.naf)
	dept, _ := tax.Departement(o.dept)
	var objects []string
	for _, a := range usable[:min(3, len(usable))] {
		objects = append(objects, a.Object)
	}
	description := validate.Clip(fmt.Sprintf("%s : %s, dans le département %s. Marchés publics récents : %s.",
		o.name, strings.ToLower(naf.Label), dept.Name, strings.Join(objects, " ; ")), 2000)
	places := []string{string(taxonomy.DepPlace(dept.Code)), string(taxonomy.RegPlace(dept.RegionCode))}
	if _, err := tx.Exec(ctx, `UPDATE organisations SET description = $2, places = $3 WHERE id = $1`, orgID, description, places); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO certifications (organisation_id, name, issuer, expires_on)
		VALUES ($1, 'ISO 9001', 'AFNOR Certification', current_date + 700)`, orgID); err != nil {
		return err
	}
	refs := make([]profile.NewReference, len(usable))
	for i, a := range usable {
		refs[i] = profile.NewReference{OrgID: orgID, Client: a.Buyer, Object: a.Object, CPV: a.CPV, AmountEUR: a.AmountEUR, Year: a.Year,
			Departement: a.Departement, SourceUID: a.UID}
	}
	if _, err := profile.AddReferences(ctx, tx, refs); err != nil {
		return err
	}
	index := search.NewIndexer(tax)
	for i, status := range demoStatuses {
		a := usable[i%len(usable)]
		cv, _ := tax.CPV(a.CPV)
		title := validate.Clip(fmt.Sprintf(demoTitles[i%len(demoTitles)], cv.LabelFR), 150)
		summary := validate.Clip("Déjà réalisé pour "+a.Buyer+" : "+a.Object, 300)
		body := fmt.Sprintf("%s\n\nNotre équipe, spécialisée en %s, intervient en %s et dans toute la région.",
			summary, strings.ToLower(naf.Label), dept.Name)
		var reason string
		if status == "rejected" {
			reason = "Précisez la zone d'intervention et le délai de mise en œuvre."
		}
		if _, err := tx.Exec(ctx, `INSERT INTO offers (organisation_id, title, summary, description, kind, cpv_codes, trl, places,
				keywords, cpv_text, status, status_reason, submitted_at, published_at)
			VALUES ($1, $2, $3, $4, 'service', $5, NULL, $6, $7, $8, $9, $10,
				CASE WHEN $9 <> 'draft'::offer_status THEN now() END,
				CASE WHEN $9 IN ('published', 'archived') THEN now() END)`,
			orgID, title, summary, body, []string{a.CPV}, places, keywordsOf(cv.LabelFR), index.CPVText([]string{a.CPV}),
			status, reason); err != nil {
			return err
		}
	}
	return index.Refresh(ctx, tx, orgID)
}

// keywordsOf takes the longer words of a label as keywords.
func keywordsOf(label string) string {
	var kw []string
	for _, w := range strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return r == ' ' || r == ',' || r == '\'' }) {
		if len([]rune(w)) > 4 && len(kw) < 4 {
			kw = append(kw, w)
		}
	}
	return strings.Join(kw, ", ")
}
