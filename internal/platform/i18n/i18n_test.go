package i18n_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"passerelle/internal/platform/i18n"
)

// Each area's catalogues define exactly the same messages in both languages.
func TestCataloguesHaveTheSameMessages(t *testing.T) {
	areas := i18n.Areas()
	if len(areas) < 5 {
		t.Fatalf("areas: %v", areas)
	}
	for _, area := range areas {
		fr, err := i18n.AreaMessageIDs(area, "fr")
		if err != nil {
			t.Fatal(err)
		}
		en, err := i18n.AreaMessageIDs(area, "en")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range fr {
			if !slices.Contains(en, id) {
				t.Errorf("%q is in %s.fr.json but not in %s.en.json", id, area, area)
			}
		}
		for _, id := range en {
			if !slices.Contains(fr, id) {
				t.Errorf("%q is in %s.en.json but not in %s.fr.json", id, area, area)
			}
		}
	}
	if _, err := i18n.Load(); err != nil {
		t.Fatal(err) // an id defined in two areas
	}
}

func TestFormats(t *testing.T) {
	c := i18n.MustLoad()
	fr, en := c.Localizer("fr"), c.Localizer("en")
	day := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct{ got, want string }{
		{fr.Int(1234567), "1\u00a0234\u00a0567"},
		{en.Int(1234567), "1,234,567"},
		{fr.Int(-1234), "-1\u00a0234"},
		{fr.Int(999), "999"},
		{fr.Money(22800000000), "22\u00a0800\u00a0000\u00a0000\u00a0€"},
		{en.Money(1500), "€1,500"},
		{fr.Percent(0.224), "22,4\u00a0%"},
		{en.Percent(0.224), "22.4%"},
		{fr.Percent(0.24), "24\u00a0%"},
		{fr.Percent(0.22449), "22,4\u00a0%"},
		{fr.Date(day), "25/11/2026"},
		{en.Date(day), "25 Nov 2026"},
		{c.Localizer("de").Lang(), "fr"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
	if got := fr.T("error.reference", "ID", "abc"); got != "Référence de la demande : abc" {
		t.Errorf("template data: %q", got)
	}
	if got := fr.T("no.such.message"); got != "[no.such.message]" {
		t.Errorf("missing message: %q", got)
	}
}

// A count fills a message whether or not the message has plural forms,
// and whether it is given as a number or already formatted.
func TestCountInMessagesWithoutPluralForms(t *testing.T) {
	c := i18n.MustLoad()
	for _, lang := range []string{"fr", "en"} {
		l := c.Localizer(lang)
		for _, n := range []any{0, 1, 2, 55, "1 234"} {
			got := l.T("staff.queue_total", "Count", n)
			if strings.HasPrefix(got, "[") || !strings.Contains(got, fmt.Sprint(n)) {
				t.Errorf("%s Count=%v: %q", lang, n, got)
			}
		}
	}
}
