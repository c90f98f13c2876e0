package search_test

import (
	"context"
	"testing"

	"passerelle/internal/offer"
	"passerelle/internal/search"
)

// Searches typed with or without accents, in any gender and number, find
// each other: past participles are the most common words of offer texts,
// and the stemmer strips "-ée"/"-és" only when it sees the accent. Offers
// are titled with real contract objects (DECP), plus the offer of the
// defect report; both search paths must agree.
func TestFrenchGenderNumberAndAccents(t *testing.T) {
	connectees := "Créations d'interfaces web et de bases de données connectées"
	integree := "Mise à disposition d'une plateforme digitale dédiée à l'emploi local, intégrée"
	realises := "Numérisation des collections de clichés réalisés"
	chaufferie := "Rénovation de la chaufferie de l'école"
	centralise := "Pilotage centralisé de l'allumage"
	w := newWorldOf(t, []string{connectees, integree, realises, chaufferie, centralise})

	// The offer of the defect report, by the SME of the chaufferie contract.
	capteurs := "Capteurs connectés pour chaufferies"
	sme := w.orgs[realContract(t, chaufferie).siren]
	ctx := context.Background()
	id, err := w.offers.Create(ctx, sme, offer.Input{Title: capteurs, Summary: "Télégestion de chaufferies sécurisée",
		Kind: "product", CPVCodes: []string{"38000000"}, TRL: "7", Departements: []string{"69"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.offers.Review(ctx, w.staff, id, true, ""); err != nil {
		t.Fatal(err)
	}
	w.ids[capteurs] = id
	if err := w.sync.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"chaufferie connectée", []string{capteurs}},
		{"chaufferies connectees", []string{capteurs}},
		{"capteur connecté", []string{capteurs}},
		{"bases de données connectés", []string{connectees}},
		{"donnees connectee", []string{connectees}},
		{"securisee", []string{capteurs}},
		{"sécurisés", []string{capteurs}},
		{"securise", []string{capteurs}},
		{"integre", []string{integree}},
		{"plateformes intégrés", []string{integree}},
		{"plateforme integrees", []string{integree}},
		{"dedie", []string{integree}},
		{"cliches realisee", []string{realises}},
		{"clichés réalisé", []string{realises}},
		{"realises", []string{realises}},
		{"pilotage centralisee", []string{centralise}},
		{"centralises", []string{centralise}},
		// What matched before still matches: plurals, accents, stop words.
		{"chaufferie", []string{chaufferie, capteurs}},
		{"ecole", []string{chaufferie}},
		{"la renovation de l'école", []string{chaufferie}},
		{"numerisations", []string{realises}},
		{"interface web", []string{connectees}},
	}
	w.both(t, func(t *testing.T, s *search.Service) {
		for _, tc := range tests {
			if got := w.titles(t, s, search.Query{Text: tc.query}); !sameSet(got, tc.want) {
				t.Errorf("%q found %q, want %q", tc.query, got, tc.want)
			}
		}
	})
}

// An index that missed a change (here the change log was not written) can
// count a hit that is no longer listed, but never shows it: every hit is
// re-checked on its row.
func TestStaleIndexNeverShowsUnlistedContent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	nettoyage := fixtures[3]
	c := realContract(t, nettoyage)
	for _, q := range []string{
		`ALTER TABLE offers DISABLE TRIGGER offers_search_change`,
		`ALTER TABLE organisations DISABLE TRIGGER organisations_search_change`,
	} {
		if _, err := w.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The SME is suspended behind the index's back.
	if _, err := w.pool.Exec(ctx, `UPDATE organisations SET status = 'suspended' WHERE siren = $1`, c.siren); err != nil {
		t.Fatal(err)
	}
	if got := w.titles(t, w.indexed, search.Query{Text: "nettoyage"}); len(got) != 0 {
		t.Errorf("a suspended member's offer is shown: %q", got)
	}
	res, err := w.indexed.SMEs(ctx, search.Query{Text: "nettoyage"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.SIREN == c.siren {
			t.Errorf("a suspended member is listed in the directory")
		}
	}
}
