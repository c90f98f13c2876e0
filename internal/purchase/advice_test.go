package purchase_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/profile"
	"passerelle/internal/purchase"
)

// cleaning is two real public contracts of the DECP data for building
// cleaning (CPV class 9091), in two départements: the first is the
// request, the second a contract the SME imports as a reference.
var cleaning = func() [2]refdata.Award {
	list, err := refdata.ReadAwards()
	if err != nil {
		panic(err)
	}
	var out []refdata.Award
	for _, a := range list {
		if strings.HasPrefix(a.CPV, "9091") && a.Departement != "" && a.Departement != "59" && !a.Damaged && len(a.Object) > 20 {
			if _, ok := tax.CPV(a.CPV); ok && (len(out) == 0 || out[0].Departement != a.Departement) {
				out = append(out, a)
			}
		}
		if len(out) == 2 {
			return [2]refdata.Award{out[0], out[1]}
		}
	}
	panic("no two DECP cleaning contracts in two départements")
}()

// Following each advice an SME reads on a request raises its score for
// that request, through the same services its links lead to (offer form
// then staff's review, references import); stating the TRL, which the
// score does not read, clears the caveat the buyer read instead.
func TestFollowingAdviceRaisesTheScore(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ms := matching.NewService(f.pool, tax)
	a := cleaning[0]
	req := matching.RequestFor(purchaseRequest(a), "", tax)
	// The far SME (Nord) has a cleaning offer that serves only the Nord;
	// the SME has an IT offer only.
	var far int64
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT id FROM offers WHERE organisation_id = $1`, f.farSME.OrgID), &far)

	look := func(sme member.Actor) (float64, []matching.Fact, []matching.Advice) {
		t.Helper()
		ranked, err := ms.Rank(ctx, req, 2027, 500)
		if err != nil {
			t.Fatal(err)
		}
		var score float64
		var facts []matching.Fact
		for _, m := range ranked {
			if m.OrgID == sme.OrgID {
				score, facts = m.Score, m.Facts
			}
		}
		rows, err := f.pool.Query(ctx, `SELECT id, title, cpv_codes, places, coalesce(trl, 0) FROM offers WHERE organisation_id = $1 AND listed`, sme.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		own, err := pgx.CollectRows(rows, pgx.RowToStructByPos[matching.OwnOffer])
		if err != nil {
			t.Fatal(err)
		}
		return score, facts, matching.Advise(facts, req, own, tax)
	}
	codes := func(list []matching.Advice) []string {
		var out []string
		for _, x := range list {
			out = append(out, x.Code)
		}
		return out
	}
	find := func(list []matching.Advice, code string) matching.Advice {
		t.Helper()
		for _, x := range list {
			if x.Code == code {
				return x
			}
		}
		t.Fatalf("no advice %s among %v", code, codes(list))
		return matching.Advice{}
	}
	edit := func(id int64, in offer.Input) {
		t.Helper()
		if err := f.offers.Update(ctx, f.farSME, id, in, true); err != nil {
			t.Fatal(err)
		}
		f.approve(t, offer.Moderated, f.offers.Moderation(), id)
	}
	farOffer := offer.Input{Title: "Nettoyage de bureaux", Summary: "Entretien des locaux.", Kind: "service",
		CPVCodes: []string{"90910000"}, Departements: []string{"59"}}
	// 0. Its offer is in the class, not the request's category: the
	// matching does not read it, and the SME is told to publish one there.
	_, _, advice := look(f.farSME)
	if pub := find(advice, matching.AdvicePublish); pub.CPV != a.CPV {
		t.Errorf("publish advice for %s, want the request's code %s", pub.CPV, a.CPV)
	}
	farOffer.CPVCodes = []string{a.CPV}
	edit(far, farOffer)
	// 1. Its offer in the category does not serve the request's place: add it.
	before, _, advice := look(f.farSME)
	places := find(advice, matching.AdvicePlaces)
	if places.OfferID != far || slices.Contains(codes(advice), matching.AdvicePublish) {
		t.Fatalf("advice %v: want the places of offer %d, not a new offer", advice, far)
	}
	farOffer.Departements = append(farOffer.Departements, a.Departement)
	edit(far, farOffer)
	after, facts, advice := look(f.farSME)
	if after <= before {
		t.Errorf("adding the request's place to its offer: score %.3f → %.3f, want higher", before, after)
	}
	// 2. The buyer now reads that offer's TRL is missing, and the SME is told.
	trl := find(advice, matching.AdviceTRL)
	if !hasFact(facts, matching.CaveatNoTRL) || trl.OfferID != far {
		t.Fatalf("no TRL caveat or advice for offer %d: %v / %v", far, facts, advice)
	}
	farOffer.TRL = "7"
	edit(far, farOffer)
	withTRL, facts, advice := look(f.farSME)
	if hasFact(facts, matching.CaveatNoTRL) || slices.Contains(codes(advice), matching.AdviceTRL) || trl.Raises {
		t.Errorf("after stating the TRL: caveat %v, advice %v (raises %v)", facts, codes(advice), trl.Raises)
	}
	if withTRL != after {
		t.Errorf("the TRL is not scored: %.3f → %.3f", after, withTRL)
	}
	// 3. No past contract in the class: import one (a real cleaning contract).
	imp := find(advice, matching.AdviceImport)
	b := cleaning[1]
	if !strings.HasPrefix(b.CPV, imp.Prefix) {
		t.Fatalf("advice to import contracts of class %s; the contract is in %s", imp.Prefix, b.CPV)
	}
	if err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		_, err := profile.AddReferences(ctx, tx, []profile.NewReference{{OrgID: f.farSME.OrgID, Client: b.Buyer, Object: b.Object,
			CPV: b.CPV, Year: b.Year, Departement: b.Departement, SourceUID: b.UID}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	imported, _, advice := look(f.farSME)
	t.Logf("%s, request %s in %s: place added %.3f → %.3f, TRL %.3f, contract imported %.3f", f.farSME.OrgName, a.CPV, a.Departement, before, after, withTRL, imported)
	if imported <= withTRL || slices.Contains(codes(advice), matching.AdviceImport) {
		t.Errorf("importing a contract of the class: score %.3f → %.3f, advice %v", withTRL, imported, codes(advice))
	}

	// 4. The SME has no offer in the class at all: publish one, with the
	// code the advice's link ticks.
	before, _, advice = look(f.sme)
	pub := find(advice, matching.AdvicePublish)
	id, err := f.offers.Create(ctx, f.sme, offer.Input{Title: "Nettoyage de locaux", Summary: "Entretien de bâtiments publics.", Kind: "service",
		CPVCodes: []string{pub.CPV}, Departements: []string{a.Departement}, TRL: "9"}, true)
	if err != nil {
		t.Fatal(err)
	}
	f.approve(t, offer.Moderated, f.offers.Moderation(), id)
	after, _, advice = look(f.sme)
	t.Logf("%s: offer published %.3f → %.3f", f.sme.OrgName, before, after)
	if after <= before || slices.Contains(codes(advice), matching.AdvicePublish) {
		t.Errorf("publishing an offer in the class: score %.3f → %.3f, advice %v", before, after, codes(advice))
	}
}

func hasFact(list []matching.Fact, code string) bool {
	return slices.ContainsFunc(list, func(f matching.Fact) bool { return f.Code == code })
}

// purchaseRequest is a request for what a real contract bought, where.
func purchaseRequest(a refdata.Award) purchase.Request {
	var r purchase.Request
	r.Title, r.CPVCodes, r.Places = a.Object, []string{a.CPV}, []string{"dep:" + a.Departement}
	return r
}
