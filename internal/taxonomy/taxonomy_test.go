package taxonomy_test

import (
	"slices"
	"testing"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

func TestCountsMatchTheOfficialLists(t *testing.T) {
	if got := tax.CPVCount(); got != 9454 {
		t.Errorf("CPV codes = %d, want 9454", got)
	}
	if got := len(tax.NAFSubclasses()); got != 732 {
		t.Errorf("NAF sub-classes = %d, want 732", got)
	}
	if got := len(tax.Departements()); got != 101 {
		t.Errorf("départements = %d, want 101", got)
	}
	if got := len(tax.Regions()); got != 18 {
		t.Errorf("regions = %d, want 18", got)
	}
	if got := len(tax.HeadcountBands()); got != 15 {
		t.Errorf("headcount bands = %d, want 15", got)
	}
}

func TestCPVChain(t *testing.T) {
	tests := []struct {
		code string
		want []string
	}{
		{"72212000", []string{"72212000", "72210000", "72200000", "72000000"}},
		{"72212000-4", []string{"72212000", "72210000", "72200000", "72000000"}},
		{"72000000", []string{"72000000"}},
		{"45000000-7", []string{"45000000"}},
		{"99999999", nil},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range tax.CPVChain(tt.code) {
			got = append(got, c.Code)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("CPVChain(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
	c, _ := tax.CPV("72212000")
	if c.LabelFR != "Services de programmation de logiciels d'application" || c.Full != "72212000-4" {
		t.Errorf("72212000 = %+v", c)
	}
	if c.Label("en") != "Programming services of application software" {
		t.Errorf("English label = %q", c.Label("en"))
	}
}

func TestSearchCPV(t *testing.T) {
	tests := []struct {
		query    string
		mustHave string // a code the results must contain
		first    string // the first result, when it matters
	}{
		{"logiciel", "72212000", "48000000"},
		{"logiciels d'application", "72212000", ""},
		{"ENERGIE", "09300000", ""},                 // "Électricité, chauffage, énergie solaire et nucléaire"
		{"énergie solaire", "09300000", "09330000"}, // "Énergie solaire" leads with the term
		{"batiments", "45210000", ""},               // "bâtiments": accent and plural
		{"722", "72200000", "72200000"},
		{"72212000-4", "72212000", "72212000"},
		{"circuit integre", "31712114", ""},   // "Circuits intégrés électroniques": gender and number
		{"circuits intégrée", "31712114", ""}, // the other gender
		{"cartes circuits integrees", "31712113", ""},
	}
	for _, tt := range tests {
		got := tax.SearchCPV(tt.query, 500)
		var codes []string
		for _, c := range got {
			codes = append(codes, c.Code)
		}
		if !slices.Contains(codes, tt.mustHave) {
			t.Errorf("SearchCPV(%q) lacks %s; got %d results: %v", tt.query, tt.mustHave, len(codes), head(codes))
		}
		if tt.first != "" && (len(codes) == 0 || codes[0] != tt.first) {
			t.Errorf("SearchCPV(%q) first = %v, want %s", tt.query, head(codes), tt.first)
		}
	}
	if got := tax.SearchCPV("zzzzqqq", 10); len(got) != 0 {
		t.Errorf("nonsense query found %d codes", len(got))
	}
	if got := tax.SearchCPV("de la", 10); len(got) != 0 {
		t.Errorf("stop words alone found %d codes", len(got))
	}
	if got := tax.SearchCPV("services", 5); len(got) != 5 {
		t.Errorf("limit not applied: %d", len(got))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func TestNAFChain(t *testing.T) {
	var got []string
	for _, n := range tax.NAFChain("62.01z") {
		got = append(got, n.Code)
	}
	if want := []string{"62.01Z", "62.01", "62.0", "62", "J"}; !slices.Equal(got, want) {
		t.Errorf("NAFChain(62.01Z) = %v, want %v", got, want)
	}
	n, _ := tax.NAF("62.01Z")
	if n.Label != "Programmation informatique" {
		t.Errorf("62.01Z label = %q", n.Label)
	}
	if tax.NAFChain("99.99Z") != nil {
		t.Error("unknown NAF code has a chain")
	}
}

func TestDepartementRegion(t *testing.T) {
	tests := []struct{ dept, region string }{
		{"75", "Île-de-France"},
		{"01", "Auvergne-Rhône-Alpes"},
		{"2A", "Corse"},
		{"2b", "Corse"},
		{"974", "La Réunion"},
		{"69", "Auvergne-Rhône-Alpes"},
	}
	for _, tt := range tests {
		r, ok := tax.RegionOf(tt.dept)
		if !ok || r.Name != tt.region {
			t.Errorf("RegionOf(%s) = %v %v, want %s", tt.dept, r, ok, tt.region)
		}
	}
	if _, ok := tax.RegionOf("20"); ok {
		t.Error("département 20 no longer exists")
	}
	d := tax.Departements()
	if d[0].Code != "01" || d[len(d)-1].Code != "976" {
		t.Errorf("order: first %s last %s", d[0].Code, d[len(d)-1].Code)
	}
}

func TestSIRENAndSIRET(t *testing.T) {
	tests := []struct {
		id    string
		siren bool
		siret bool
	}{
		{"007050065", true, false},       // from the SIRENE extract
		{"00705006500015", false, true},  // its establishment
		{"00705006500016", false, false}, // one digit off
		{"007050066", false, false},
		{"35600000000048", false, true}, // La Poste head office: passes Luhn
		{"35600000065307", false, true}, // La Poste establishment: digit-sum rule only
		{"35600000065308", false, false},
		{"12345678", false, false},
		{"00705006A", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := taxonomy.ValidSIREN(tt.id); got != tt.siren {
			t.Errorf("ValidSIREN(%q) = %t, want %t", tt.id, got, tt.siren)
		}
		if got := taxonomy.ValidSIRET(tt.id); got != tt.siret {
			t.Errorf("ValidSIRET(%q) = %t, want %t", tt.id, got, tt.siret)
		}
	}
	if got := taxonomy.NormalizeID(" 007 050\u00a0065 "); got != "007050065" {
		t.Errorf("NormalizeID = %q", got)
	}
}

// Every SIRET in the real SIRENE extract is valid, and so is its SIREN.
func TestEverySIRETOfTheSIRENEExtractIsValid(t *testing.T) {
	n := 0
	err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		n++
		if !taxonomy.ValidSIRET(r["siret"]) || !taxonomy.ValidSIREN(r["siren"]) {
			t.Errorf("real SIRET %s / SIREN %s rejected", r["siret"], r["siren"])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8000 {
		t.Fatalf("extract has %d rows", n)
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"Électricité, gaz": "electricite  gaz",
		"Œuvres d’art":     "oeuvres d art",
		"Bâtiment L'ÉCOLE": "batiment l ecole",
	}
	for in, want := range tests {
		if got := taxonomy.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Places are found by name or code, accents and case aside, a région with
// its départements.
func TestSearchPlaces(t *testing.T) {
	tax := taxonomy.MustLoad()
	tests := []struct {
		q        string
		want     []string // in this order
		has, not []string
	}{
		{q: "bretagne", want: []string{"reg:53", "dep:22", "dep:29", "dep:35", "dep:56"}},
		{q: "2a", want: []string{"dep:2A"}},
		{q: "var", want: []string{"dep:83"}},
		{q: "pas de calais", want: []string{"dep:62"}},
		{q: "nulle part", want: nil},
		// Auvergne-Rhône-Alpes with its départements (the Ain among
		// them), and the Bouches-du-Rhône; not the Var.
		{q: "RHÔNE", has: []string{"reg:84", "dep:69", "dep:01", "dep:13"}, not: []string{"dep:83"}},
	}
	for _, tc := range tests {
		got := tax.SearchPlaces(tc.q)
		if tc.has == nil && !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.q, got, tc.want)
		}
		for _, k := range tc.has {
			if !slices.Contains(got, k) {
				t.Errorf("%q: %v lacks %s", tc.q, got, k)
			}
		}
		for _, k := range tc.not {
			if slices.Contains(got, k) {
				t.Errorf("%q: %v has %s", tc.q, got, k)
			}
		}
	}
	if all := tax.SearchPlaces(" "); len(all) != len(tax.Regions()) {
		t.Errorf("no query: %d places, want the %d régions", len(all), len(tax.Regions()))
	}
}
