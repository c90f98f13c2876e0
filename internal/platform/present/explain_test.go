package present_test

import (
	"regexp"
	"strings"
	"testing"

	"passerelle/internal/matching"
	"passerelle/internal/platform/present"
)

// One fact of each code, with values from the real taxonomies: a cleaning
// SME of the Var for a building-cleaning request (CPV 90911200).
var sampleFacts = map[string]matching.Fact{
	matching.ReasonOffer:            {Code: matching.ReasonOffer, Title: "Nettoyage écologique", OfferID: 7, Level: "class", Prefix: "9091"},
	matching.ReasonPast:             {Code: matching.ReasonPast, Count: 5, Local: 2, Departement: "83", Level: "exact", Prefix: "90911200", Year: 2018},
	matching.ReasonWorkedForBuyer:   {Code: matching.ReasonWorkedForBuyer, Count: 3},
	matching.ReasonSimilarForUs:     {Code: matching.ReasonSimilarForUs},
	matching.ReasonActivity:         {Code: matching.ReasonActivity, NAF: "81.21Z", Level: "group", Prefix: "909", Percent: 75},
	matching.ReasonWords:            {Code: matching.ReasonWords},
	matching.ReasonServes:           {Code: matching.ReasonServes},
	matching.ReasonBasedDepartement: {Code: matching.ReasonBasedDepartement, Departement: "83"},
	matching.ReasonBasedRegion:      {Code: matching.ReasonBasedRegion, Region: "93"},
	matching.CaveatNoReferences:     {Code: matching.CaveatNoReferences},
	matching.CaveatNoOffer:          {Code: matching.CaveatNoOffer},
	matching.CaveatNoTRL:            {Code: matching.CaveatNoTRL, Title: "Nettoyage écologique", OfferID: 7},
	matching.CaveatNoNAF:            {Code: matching.CaveatNoNAF},
}

// Every fact code × reader, in French, as its reader reads it. Caveats are
// for the buyer and staff only: the SME reads advice instead.
var frenchFacts = map[string]map[present.Reader]string{
	matching.ReasonOffer: {
		present.Buyer: "Son offre « Nettoyage écologique » est dans la même classe CPV : 9091 · Services de nettoyage",
		present.SME:   "Votre offre « Nettoyage écologique » est dans la même classe CPV : 9091 · Services de nettoyage",
		present.Staff: "Son offre « Nettoyage écologique » est dans la même classe CPV : 9091 · Services de nettoyage",
	},
	matching.ReasonPast: {
		present.Buyer: "5 marchés passés dans le même code CPV, 90911200 · Services de nettoyage de bâtiments, dont 2 dans le département 83 · Var ; le plus récent en 2018",
		present.SME:   "Vous avez 5 marchés passés dans le même code CPV, 90911200 · Services de nettoyage de bâtiments, dont 2 dans le département 83 · Var ; le plus récent en 2018",
		present.Staff: "5 marchés passés dans le même code CPV, 90911200 · Services de nettoyage de bâtiments, dont 2 dans le département 83 · Var ; le plus récent en 2018",
	},
	matching.ReasonWorkedForBuyer: {
		present.Buyer: "A déjà travaillé pour vous : 3 marchés",
		present.SME:   "Vous avez déjà travaillé pour cet acheteur : 3 marchés",
		present.Staff: "A déjà travaillé pour cet acheteur : 3 marchés",
	},
	matching.ReasonSimilarForUs: {
		present.Buyer: "A déjà tenu pour vous un marché formulé comme celui-ci",
		present.SME:   "Vous avez déjà tenu pour cet acheteur un marché formulé comme celui-ci",
		present.Staff: "A déjà tenu pour cet acheteur un marché formulé comme celui-ci",
	},
	matching.ReasonActivity: {
		present.Buyer: "Son métier remporte souvent ce type de marché : 75 % des marchés des entreprises en NAF 81.21Z · Nettoyage courant des bâtiments relèvent du groupe CPV 909 · Services de nettoyage et d'hygiène",
		present.SME:   "Votre métier remporte souvent ce type de marché : 75 % des marchés des entreprises en NAF 81.21Z · Nettoyage courant des bâtiments relèvent du groupe CPV 909 · Services de nettoyage et d'hygiène",
		present.Staff: "Son métier remporte souvent ce type de marché : 75 % des marchés des entreprises en NAF 81.21Z · Nettoyage courant des bâtiments relèvent du groupe CPV 909 · Services de nettoyage et d'hygiène",
	},
	matching.ReasonWords: {
		present.Buyer: "Ses références emploient les mots de votre demande",
		present.SME:   "Vos références emploient les mots de la demande",
		present.Staff: "Ses références emploient les mots de la demande",
	},
	matching.ReasonServes: {
		present.Buyer: "Intervient sur le lieu de votre demande",
		present.SME:   "Vous intervenez sur le lieu de la demande",
		present.Staff: "Intervient sur le lieu de la demande",
	},
	matching.ReasonBasedDepartement: {
		present.Buyer: "Établie dans le département de votre demande : 83 · Var",
		present.SME:   "Vous êtes établie dans le département de la demande : 83 · Var",
		present.Staff: "Établie dans le département de la demande : 83 · Var",
	},
	matching.ReasonBasedRegion: {
		present.Buyer: "Établie dans la région de votre demande : Provence-Alpes-Côte d'Azur",
		present.SME:   "Vous êtes établie dans la région de la demande : Provence-Alpes-Côte d'Azur",
		present.Staff: "Établie dans la région de la demande : Provence-Alpes-Côte d'Azur",
	},
	matching.CaveatNoReferences: {
		present.Buyer: "Aucun marché passé connu de la plateforme : demandez-lui ses références",
		present.Staff: "Aucun marché passé connu de la plateforme",
	},
	matching.CaveatNoOffer: {
		present.Buyer: "Aucune offre publiée dans cette catégorie : vérifiez qu'elle fait ce que vous cherchez",
		present.Staff: "Aucune offre publiée dans la catégorie de la demande",
	},
	matching.CaveatNoTRL: {
		present.Buyer: "Son offre « Nettoyage écologique » n'indique pas sa maturité technologique (TRL) : demandez-la",
		present.Staff: "Son offre « Nettoyage écologique » n'indique pas de maturité technologique (TRL)",
	},
	matching.CaveatNoNAF: {
		present.Buyer: "Code d'activité (NAF) inconnu : vérifiez son métier",
		present.Staff: "Code d'activité (NAF) inconnu",
	},
}

// Words that give a sentence's voice away, by language: the SME is spoken
// to ("vous"), the buyer is spoken to about the SME ("son", "votre
// demande"), staff are spoken to about neither.
var voice = map[string]map[present.Reader]struct{ must, never *regexp.Regexp }{
	"fr": {
		present.Buyer: {never: regexp.MustCompile(`\b(Votre offre|Vos |Vous avez|Vous êtes|Vous intervenez|cet acheteur)`)},
		present.SME:   {must: regexp.MustCompile(`(?i)\b(vous|votre|vos)\b`), never: regexp.MustCompile(`\b(Son offre|Ses |votre demande|pour vous)\b`)},
		present.Staff: {never: regexp.MustCompile(`(?i)\b(vous|votre|vos)\b|demandez`)},
	},
	"en": {
		present.Buyer: {never: regexp.MustCompile(`\b(Your offer|You have|You are|You work|this buyer)\b`)},
		present.SME:   {must: regexp.MustCompile(`(?i)\b(you|your)\b`), never: regexp.MustCompile(`\b(Its offer|Its references|your request|for you)\b`)},
		present.Staff: {never: regexp.MustCompile(`(?i)\b(you|your)\b|ask for`)},
	},
}

// Each fact code × reader × language: the French sentence as written
// above; in both languages the reader's voice, every value named, no
// placeholder left, no parenthesis inside another.
func TestFactsByReader(t *testing.T) {
	codes := append(append([]string{}, matching.ReasonCodes...), matching.CaveatCodes...)
	if len(codes) != len(sampleFacts) || len(codes) != len(frenchFacts) {
		t.Fatalf("%d codes, %d samples, %d French rows: one of each per code", len(codes), len(sampleFacts), len(frenchFacts))
	}
	for _, lang := range []string{"fr", "en"} {
		p := present.New(tax, catalog.Localizer(lang))
		for _, code := range codes {
			f := sampleFacts[code]
			for _, who := range present.Readers {
				if f.Kind() == matching.KindCaveat && who == present.SME {
					continue
				}
				got := p.Fact(f, who)
				if lang == "fr" && got != frenchFacts[code][who] {
					t.Errorf("fr %s for %s:\n got %q\nwant %q", code, who, got, frenchFacts[code][who])
				}
				v := voice[lang][who]
				if v.must != nil && !v.must.MatchString(got) {
					t.Errorf("%s %s for %s is not in the reader's voice: %q", lang, code, who, got)
				}
				if m := v.never.FindString(got); m != "" {
					t.Errorf("%s %s for %s says %q, which is not for this reader: %q", lang, code, who, m, got)
				}
				if strings.Contains(got, "{{") || strings.Contains(got, "<no value>") || strings.HasPrefix(got, "[") {
					t.Errorf("%s %s for %s: unfilled message %q", lang, code, who, got)
				}
				if regexp.MustCompile(`\([^()]*\(`).MatchString(got) {
					t.Errorf("%s %s for %s: nested parentheses in %q", lang, code, who, got)
				}
				for _, val := range []string{f.Title, f.Prefix, f.Departement} {
					if val != "" && !strings.Contains(got, val) {
						t.Errorf("%s %s for %s: %q does not name %q", lang, code, who, got, val)
					}
				}
			}
		}
	}
}

// A "dont" counts some of its line's contracts, never more: rendered from
// the same fact, the local count is the subset's, and a fact without a
// local count says no "dont" at all.
func TestLocalCountIsPartOfItsLine(t *testing.T) {
	fr := present.New(tax, catalog.Localizer("fr"))
	line, dont := regexp.MustCompile(`^(?:Vous avez )?(\d+) marchés? passés? `), regexp.MustCompile(`, dont (\d+) dans le département `)
	tests := []struct {
		ev        matching.Evidence
		line, sub string
	}{
		// The bug the issue found: 5 at the exact code, 6 in the division locally.
		{matching.Evidence{RefsAt: [6]int{0, 9, 9, 7, 6, 5}, RefsAtDep: [6]int{0, 6, 4, 3, 2, 2}, LatestAt: [6]int{0, 2021, 2021, 2020, 2019, 2018}}, "5", "2"},
		// Two reads that disagree (the local one saw more): capped at the line.
		{matching.Evidence{RefsAt: [6]int{0, 1, 1, 1, 0, 0}, RefsAtDep: [6]int{0, 3, 3, 3, 0, 0}}, "1", "1"},
		{matching.Evidence{RefsAt: [6]int{0, 4, 4, 0, 0, 0}}, "4", ""},
	}
	req := matching.Request{CPV: []string{"90911200"}, Departement: "83", Region: "93"}
	for i, tc := range tests {
		for _, f := range matching.Facts(tc.ev, req) {
			if f.Code != matching.ReasonPast {
				continue
			}
			if f.Year != tc.ev.LatestAt[matching.LevelOf(f.Level)] {
				t.Errorf("%d: latest year %d is not that of the counted contracts' level", i, f.Year)
			}
			for _, who := range present.Readers {
				got := fr.Fact(f, who)
				m, sub := line.FindStringSubmatch(got), append(dont.FindStringSubmatch(got), "", "")[1]
				if m == nil || m[1] != tc.line || sub != tc.sub {
					t.Errorf("%d %s: %q, want line %s and dont %q", i, who, fr.Fact(f, who), tc.line, tc.sub)
				}
			}
		}
	}
}

// The explanation keeps the three apart: reasons for everyone, caveats for
// the buyer and staff, none for the SME.
func TestExplanationKeepsReasonsAndCaveatsApart(t *testing.T) {
	var all []matching.Fact
	for _, f := range sampleFacts {
		all = append(all, f)
	}
	raw := matching.FactsJSON(all)
	fr := present.New(tax, catalog.Localizer("fr"))
	for _, who := range present.Readers {
		e := fr.Explain(raw, who)
		wantCaveats := len(matching.CaveatCodes)
		if who == present.SME {
			wantCaveats = 0
		}
		if len(e.Reasons) != len(matching.ReasonCodes) || len(e.Caveats) != wantCaveats {
			t.Errorf("%s: %d reasons, %d caveats; want %d and %d", who, len(e.Reasons), len(e.Caveats), len(matching.ReasonCodes), wantCaveats)
		}
		for _, l := range e.Reasons {
			if (matching.Fact{Code: l.Code}).Kind() != matching.KindReason {
				t.Errorf("%s: caveat %s among the reasons", who, l.Code)
			}
		}
	}
}
