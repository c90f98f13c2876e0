package refdata_test

import (
	"testing"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
)

// Every contract is read once, with its winners' SIRENs, and can be found
// by each of them.
func TestReadAwards(t *testing.T) {
	list, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 5000 {
		t.Fatalf("%d contracts read", len(list))
	}
	uids := map[string]bool{}
	for _, a := range list {
		if uids[a.UID] {
			t.Fatalf("contract %s read twice", a.UID)
		}
		uids[a.UID] = true
		for _, s := range a.Winners {
			if len(s) != 9 {
				t.Fatalf("%s: winner %q is not a SIREN", a.UID, s)
			}
		}
	}
	by := refdata.AwardsBySIREN(list)
	top, most := "", 0
	for s, won := range by {
		if len(won) > most {
			top, most = s, len(won)
		}
	}
	if most < 5 || !taxonomy.ValidSIREN(top) {
		t.Errorf("the most frequent winner %s has %d contracts", top, most)
	}
	for _, a := range by[top] {
		found := false
		for _, s := range a.Winners {
			found = found || s == top
		}
		if !found {
			t.Errorf("%s listed under %s, which did not win it", a.UID, top)
		}
	}
}
