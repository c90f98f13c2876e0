package profile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/profile"
	"passerelle/internal/registers"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

// winner returns the SIREN that won the most contracts in the DECP data
// shipped with the project, and how many distinct records name it.
func winner(t *testing.T) (string, int) {
	t.Helper()
	uids := map[string]map[string]bool{}
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		for _, id := range strings.Split(r["titulaires_ids"], "|") {
			if id = strings.ReplaceAll(id, " ", ""); len(id) == 14 {
				if uids[id[:9]] == nil {
					uids[id[:9]] = map[string]bool{}
				}
				uids[id[:9]][r["uid"]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	best, n := "", 0
	for s, u := range uids {
		if len(u) > n || len(u) == n && s < best {
			best, n = s, len(u)
		}
	}
	return best, n
}

type fixture struct {
	pool  *pgxpool.Pool
	svc   *profile.Service
	sme   member.Actor
	other member.Actor
	buyer member.Actor
}

func setup(t *testing.T, siren string) fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	if _, _, err := registers.ImportSample(ctx, pool); err != nil {
		t.Fatal(err)
	}
	org := func(siren, kind, status string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
			VALUES ($1, 'Org ' || $1, $2, '43.12A', '11', '33', $3) RETURNING id`, siren, kind, status).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	f := fixture{pool: pool, svc: profile.NewService(pool, tax, search.NewIndexer(tax))}
	f.sme = member.Actor{UserID: 1, OrgID: org(siren, "pme", "member"), Role: member.RoleOwner, Kind: member.KindPME}
	f.other = member.Actor{UserID: 2, OrgID: org("007350200", "pme", "member"), Role: member.RoleOwner, Kind: member.KindPME}
	f.buyer = member.Actor{UserID: 3, OrgID: org("015650955", "public", "member"), Role: member.RoleOwner, Kind: member.KindPublic}
	return f
}

func TestImportAwardsFromDECP(t *testing.T) {
	siren, n := winner(t)
	f := setup(t, siren)
	ctx := context.Background()
	awards, err := f.svc.Awards(ctx, f.sme)
	if err != nil {
		t.Fatal(err)
	}
	if len(awards) != n {
		t.Fatalf("found %d contracts for %s, the DECP file has %d", len(awards), siren, n)
	}
	pick := []string{awards[0].UID, awards[1].UID, "not-a-uid"}
	got, err := f.svc.ImportAwards(ctx, f.sme, pick)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("imported %d, want 2", got)
	}
	// Importing again adds nothing; the list marks them imported.
	if again, _ := f.svc.ImportAwards(ctx, f.sme, pick); again != 0 {
		t.Errorf("second import added %d", again)
	}
	awards, _ = f.svc.Awards(ctx, f.sme)
	imported := 0
	for _, a := range awards {
		if a.Imported {
			imported++
		}
	}
	if imported != 2 {
		t.Errorf("%d marked imported", imported)
	}
	// Another SME cannot import this SME's contracts: it finds its own only.
	if n, _ := f.svc.ImportAwards(ctx, f.other, pick); n != 0 {
		t.Errorf("another SME imported %d contracts it did not win", n)
	}
	p, err := f.svc.Get(ctx, f.buyer, f.sme.OrgID)
	if err != nil || len(p.References) != 2 || p.References[0].Source != "decp" {
		t.Fatalf("buyer sees %+v (%v)", p.References, err)
	}
	// References feed the directory: their CPV division is a facet.
	var facets []string
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT facets FROM organisations WHERE id = $1`, f.sme.OrgID), &facets)
	if !slices.Contains(facets, "cpv:"+awards[0].CPV[:2]) {
		t.Errorf("facets %v lack cpv:%s", facets, awards[0].CPV[:2])
	}
}

func TestCertificationsExpire(t *testing.T) {
	f := setup(t, "007050065")
	ctx := context.Background()
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	if err := f.svc.AddCertification(ctx, f.sme, profile.CertificationInput{Name: "Qualibat RGE", ExpiresOn: yesterday}); err != nil {
		t.Fatal(err)
	}
	certified := func() bool {
		var facets []string
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT facets FROM organisations WHERE id = $1`, f.sme.OrgID), &facets)
		return slices.Contains(facets, search.KeyCert)
	}
	if certified() {
		t.Error("an expired certification makes the SME certified")
	}
	p, _ := f.svc.Get(ctx, f.sme, f.sme.OrgID)
	if len(p.Certifications) != 1 || !p.Certifications[0].Expired(time.Now()) {
		t.Fatalf("certification %+v not shown as expired", p.Certifications)
	}
	if err := f.svc.AddCertification(ctx, f.sme, profile.CertificationInput{Name: "ISO 9001", Issuer: "AFNOR Certification"}); err != nil {
		t.Fatal(err)
	}
	if !certified() {
		t.Error("a certification without expiry does not count")
	}
	// Another SME cannot delete it; its owner can.
	p, _ = f.svc.Get(ctx, f.sme, f.sme.OrgID)
	id := p.Certifications[0].ID
	if err := f.svc.DeleteCertification(ctx, f.other, id); !errors.Is(err, profile.ErrNotFound) {
		t.Errorf("other SME deleting: %v", err)
	}
	if err := f.svc.DeleteCertification(ctx, f.sme, id); err != nil {
		t.Error(err)
	}
}

func TestValidationAndPermissions(t *testing.T) {
	f := setup(t, "007050065")
	ctx := context.Background()
	fields := func(err error) map[string]string {
		var v *profile.ValidationError
		if errors.As(err, &v) {
			return v.Fields
		}
		return nil
	}
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"certification without name", f.svc.AddCertification(ctx, f.sme, profile.CertificationInput{Name: " "}), "cert_name"},
		{"certification bad date", f.svc.AddCertification(ctx, f.sme, profile.CertificationInput{Name: "ISO 9001", ExpiresOn: "31/12/2027"}), "cert_expires"},
		{"reference unknown CPV", f.svc.AddReference(ctx, f.sme, profile.ReferenceInput{Client: "Ville de Lyon", Object: "Travaux", CPV: "12345678"}), "ref_cpv"},
		{"reference negative amount", f.svc.AddReference(ctx, f.sme, profile.ReferenceInput{Client: "Ville de Lyon", Object: "Travaux", CPV: "45261410", Amount: "-5"}), "ref_amount"},
		{"reference future year", f.svc.AddReference(ctx, f.sme, profile.ReferenceInput{Client: "Ville de Lyon", Object: "Travaux", CPV: "45261410", Year: "2999"}), "ref_year"},
		{"profile bad website", f.svc.Update(ctx, f.sme, profile.Input{Website: "javascript:alert(1)"}), "website"},
		{"profile unknown région", f.svc.Update(ctx, f.sme, profile.Input{Regions: []string{"00"}}), "regions"},
	}
	for _, tc := range tests {
		if _, ok := fields(tc.err)[tc.field]; !ok {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	// French amounts with spaces and the euro sign are understood.
	if err := f.svc.AddReference(ctx, f.sme, profile.ReferenceInput{Client: "Ville de Lyon", Object: "Isolation de toiture", CPV: "45261410-1", Amount: "1 234 567 €", Year: "2019"}); err != nil {
		t.Fatal(err)
	}
	perms := []struct {
		name string
		err  error
		want error
	}{
		{"buyer edits a profile", f.svc.Update(ctx, f.buyer, profile.Input{}), profile.ErrForbidden},
		{"buyer imports awards", func() error { _, err := f.svc.Awards(ctx, f.buyer); return err }(), profile.ErrForbidden},
		{"visitor reads a profile", func() error { _, err := f.svc.Get(ctx, member.Actor{}, f.sme.OrgID); return err }(), profile.ErrForbidden},
		{"buyer reads a buyer's profile", func() error { _, err := f.svc.Get(ctx, f.other, f.buyer.OrgID); return err }(), profile.ErrNotFound},
		{"buyer reads an SME's profile", func() error { _, err := f.svc.Get(ctx, f.buyer, f.sme.OrgID); return err }(), nil},
	}
	for _, tc := range perms {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// A suspended SME's profile is no longer shown to others.
	if _, err := f.pool.Exec(ctx, `UPDATE organisations SET status = 'suspended' WHERE id = $1`, f.sme.OrgID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, f.buyer, f.sme.OrgID); !errors.Is(err, profile.ErrNotFound) {
		t.Errorf("suspended SME's profile: %v", err)
	}
}

// The registers' daily job proposes the contracts an SME won that are not
// among its references; nothing is added without it; once it answers
// (imports some), the others are not proposed again.
func TestContractProposals(t *testing.T) {
	siren, n := winner(t)
	f := setup(t, siren)
	ctx := context.Background()
	if got, err := f.svc.Proposals(ctx, f.sme); err != nil || got != 0 {
		t.Fatalf("%d proposals before the job (%v)", got, err)
	}
	if _, err := registers.Propose(ctx, f.pool); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Proposals(ctx, f.sme); err != nil || got != n {
		t.Errorf("%d proposals, the SME won %d contracts (%v)", got, n, err)
	}
	p, err := f.svc.Get(ctx, f.sme, f.sme.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.References) != 0 {
		t.Fatalf("references added without consent: %d", len(p.References))
	}
	awards, err := f.svc.Awards(ctx, f.sme)
	if err != nil || len(awards) == 0 {
		t.Fatalf("awards: %d, %v", len(awards), err)
	}
	if !awards[0].Proposed {
		t.Error("a proposal is not marked on the import page")
	}
	if _, err := f.svc.ImportAwards(ctx, f.sme, []string{awards[0].UID}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Proposals(ctx, f.sme); err != nil || got != 0 {
		t.Errorf("%d proposals left after the SME answered (%v)", got, err)
	}
	if _, err := registers.Propose(ctx, f.pool); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Proposals(ctx, f.sme); err != nil || got != 0 {
		t.Errorf("the job proposed again %d contracts the SME declined (%v)", got, err)
	}
	if _, err := f.svc.Proposals(ctx, f.buyer); err != profile.ErrForbidden {
		t.Errorf("a buyer reads an SME's proposals: %v", err)
	}
}
