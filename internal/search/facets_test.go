package search

import (
	"slices"
	"strings"
	"testing"

	"passerelle/internal/taxonomy"
)

func TestCPVKeys(t *testing.T) {
	tests := []struct {
		code string
		want []string
	}{
		{"72212000", []string{"cpv:72", "cpv:722", "cpv:7221", "cpv:72212"}},
		{"48000000", []string{"cpv:48"}},
		{"09310000", []string{"cpv:09", "cpv:093", "cpv:0931"}},
		{"45261410", []string{"cpv:45", "cpv:452", "cpv:4526", "cpv:45261", "cpv:452614", "cpv:4526141"}},
	}
	for _, tc := range tests {
		if got := CPVKeys(tc.code); !slices.Equal(got, tc.want) {
			t.Errorf("CPVKeys(%s) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestCPVPrefixAndParse(t *testing.T) {
	tests := []struct {
		text      string
		key       string
		siren     string
		wordsLeft string
	}{
		{"72212000", "cpv:72212", "", ""},
		{"72212000-4", "cpv:72212", "", ""},
		{"722", "cpv:722", "", ""},
		{"09", "cpv:09", "", ""},
		{"784712267", "", "784712267", ""},                                 // a valid SIREN, not a CPV code
		{"784 712 267", "", "784712267", ""},                               // spaces allowed
		{"784712268", "", "", "784712268"},                                 // 9 digits, bad checksum: words
		{"logiciel 48", "", "", "logiciel 48"},                             // words
		{"123456789012", "", "", "123456789012"},                           // too long for either
		{"  énergie  ", "", "", "énergie"},                                 // trimmed
		{"<script>alert(1)</script>", "", "", "<script>alert(1)</script>"}, // just words
	}
	for _, tc := range tests {
		p := Parse(Query{Text: tc.text})
		key := ""
		if len(p.Facets) > 0 {
			key = p.Facets[0]
		}
		if key != tc.key || p.SIREN != tc.siren || p.Words != tc.wordsLeft {
			t.Errorf("Parse(%q) = %+v", tc.text, p)
		}
	}
}

func TestPlaceKeysExpandBothWays(t *testing.T) {
	tax := taxonomy.MustLoad()
	// A département brings its region; Corse (94) brings both its départements.
	got := PlaceKeys(tax, []Place{taxonomy.DepPlace("33"), taxonomy.RegPlace("94")})
	for _, want := range []string{"dep:33", "reg:75", "reg:94", "dep:2A", "dep:2B"} {
		if !slices.Contains(got, want) {
			t.Errorf("PlaceKeys missing %s: %v", want, got)
		}
	}
	if got := PlaceKeys(tax, []Place{taxonomy.DepPlace("99"), taxonomy.RegPlace("00"), "nowhere"}); len(got) != 0 {
		t.Errorf("unknown places gave %v", got)
	}
}

func TestOfferFacets(t *testing.T) {
	tax := taxonomy.MustLoad()
	got := OfferFacets(tax, OfferFacts{CPVCodes: []string{"72212000", "72000000"}, TRL: 6, Kind: "service",
		Places: []Place{taxonomy.DepPlace("69")}, HeadcountBand: "12", Certified: true})
	want := []string{"cert", "cpv:72", "cpv:722", "cpv:7221", "cpv:72212", "dep:69", "kind:service", "reg:84", "size:pme", "trl:6"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if got := OfferFacets(tax, OfferFacts{CPVCodes: []string{"72212000"}, TRL: 12}); slices.Contains(got, "trl:12") {
		t.Errorf("TRL out of range kept: %v", got)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{Name: "éolia | sas", ID: 42}
	got, ok := decodeCursor(c.encode())
	if !ok || got.Name != c.Name || got.ID != 42 {
		t.Errorf("round trip %+v", got)
	}
	for _, bad := range []string{"", "!!", "bm9wZQ"} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

func TestValidFacet(t *testing.T) {
	for _, ok := range []string{"cert", "cpv:72", "cpv:72212", "reg:84", "dep:2A", "trl:7", "kind:service", "size:pme"} {
		if !ValidFacet(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "cert:1", "reg:", "foo:1", "reg:" + strings.Repeat("9", 21), "<script>", "cpv"} {
		if ValidFacet(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
