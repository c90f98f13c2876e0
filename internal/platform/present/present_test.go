package present_test

import (
	"slices"
	"testing"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/present"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
)

var (
	tax     = taxonomy.MustLoad()
	catalog = i18n.MustLoad()
)

func TestLabels(t *testing.T) {
	fr, en := present.New(tax, catalog.Localizer("fr")), present.New(tax, catalog.Localizer("en"))
	tests := []struct{ got, want string }{
		{fr.CPV("72212000"), "72212000-4 · Services de programmation de logiciels d'application"},
		{en.CPV("72212000"), "72212000-4 · Programming services of application software"},
		{fr.CPV("99999999"), "99999999"},
		{fr.Place("reg:84"), "Auvergne-Rhône-Alpes"},
		{fr.Place("dep:69"), "69 · Rhône"},
		{fr.Place("dep:2A"), "2A · Corse-du-Sud"},
		{fr.Place("nowhere"), "nowhere"},
		{fr.Places([]string{"reg:75", "dep:33"}), "Nouvelle-Aquitaine, 33 · Gironde"},
		{fr.PlacesServed(nil), ""},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %q, want %q", i, tt.got, tt.want)
		}
	}
	if got := fr.CPVs([]string{"72212000", "00000001", "09331200"}); len(got) != 2 {
		t.Errorf("unknown codes are left out: %q", got)
	}
	facts := fr.OrgFacts(present.Org{SIREN: "007050065", Kind: "pme", NAFCode: "43.12A", HeadcountBand: "11",
		Departement: "04", Places: []string{"reg:93"}})
	want := []components.Fact{{Label: "SIREN", Value: "007050065"}}
	if len(facts) != 6 || !slices.Equal(facts[:1], want) || facts[4].Value != "04 · Alpes-de-Haute-Provence (Provence-Alpes-Côte d'Azur)" {
		t.Errorf("organisation facts: %+v", facts)
	}
	if lines := en.OrgLines(present.Org{SIREN: "007050065", Kind: "pme"}); len(lines) != 2 || lines[0] != "SIREN: 007050065" {
		t.Errorf("lines: %q", lines)
	}
}
