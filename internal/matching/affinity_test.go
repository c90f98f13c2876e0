package matching_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"passerelle/internal/matching"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/registers"
	"passerelle/internal/registers/registerstest"
	"passerelle/internal/taxonomy"
)

// The trade affinity learns from every supplier of the DECP register,
// member or not (by its activity in SIRENE), and from the references
// members typed; a reference imported from the DECP is not counted twice.
func TestAffinityFromTheRegisters(t *testing.T) {
	db := pgtest.Pool(t)
	ctx := context.Background()
	units, estabs, u := registerstest.Rows(t)
	registerstest.Load(t, db)
	naf := map[string]string{}
	siret := map[string]string{}
	for i, x := range units {
		naf[x["siren"]], siret[x["siren"]] = x["activitePrincipaleUniteLegale"], estabs[i]["siret"]
	}
	var records []string
	for i := range 4 {
		records = append(records, fmt.Sprintf(`{"id": "M%d", "acheteur": {"id": "21690123100011"}, "objet": "travaux", "codeCPV": "45233140-2",
			"dateNotification": "2019-01-01", "titulaires": [{"typeIdentifiant": "SIRET", "id": %q}]}`, i, siret[u.GE]))
	}
	if _, err := registers.ImportDECP(ctx, db, registers.Source{Name: "d.json", Data: []byte(`{"marches": [` + strings.Join(records, ",") + `]}`)}, nil); err != nil {
		t.Fatal(err)
	}
	s := matching.NewService(db, taxonomy.MustLoad())
	a, err := s.LoadAffinity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 4 contracts in 452, smoothed by 3: 4/7.
	if got := a.Share(naf[u.GE], "452", 0); got < 0.57 || got > 0.58 {
		t.Errorf("share of %s in 452: %.3f, want 4/7 from the non-member winner's contracts", naf[u.GE], got)
	}
	// A member imports one of them as a reference: still 4, not 5.
	var org int64
	if err := db.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ($1, 'Omega', 'pme', $2, '11', '69', 'member') RETURNING id`, u.GE, naf[u.GE]).Scan(&org); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, source, source_uid)
		VALUES ($1, 'Ville', 'travaux', '45233140', 'decp', '21690123100011M0'), ($1, 'Ville', 'pose', '45233140', 'manual', '')`, org); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	a, _ = s.LoadAffinity(ctx)
	if got := a.Share(naf[u.GE], "452", 0); got < 0.624 || got > 0.626 {
		t.Errorf("after a DECP reference and a typed one: %.3f, want 5/8", got)
	}
}
