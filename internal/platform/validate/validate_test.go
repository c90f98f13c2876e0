package validate_test

import (
	"testing"

	"passerelle/internal/platform/validate"
)

func TestLine(t *testing.T) {
	tests := map[string]string{
		"Terrassements des Alpes":                "Terrassements des Alpes",
		"  Atelier\tNumérique \n du Val  ":       "Atelier Numérique du Val",
		"Paul\u202eetimép\u202c":                 "Pauletimép", // a bidi override that reverses what follows
		"Ca\u200bpteurs con\u200dnectés\u00ad":   "Capteurs connectés",
		"\ufeffAZURIAL SAS":                      "AZURIAL SAS",
		"Nom\x00avec\x07contrôle":                "Nomaveccontrôle",
		"Société d'économie mixte — « Énergie »": "Société d'économie mixte — « Énergie »",
	}
	for in, want := range tests {
		if got := validate.Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}

// Addresses the mail path cannot deliver (SMTP without SMTPUTF8) are
// refused when typed.
func TestEmail(t *testing.T) {
	tests := map[string]bool{
		"pme@passerelle.test":            true,
		"paul.pemiste+devis@exemple.fr":  true,
		"achats@sous-domaine.gouv.fr":    true,
		"o'brien@exemple.fr":             true,
		"josé@exemple.fr":                false,
		"paul@exemplé.fr":                false,
		`"paul pemiste"@exemple.fr`:      false,
		"paul@[127.0.0.1]":               false,
		"paul@localhost":                 false,
		"paul@exemple.f":                 false,
		"paul@exemple.123":               false,
		"paul@-exemple.fr":               false,
		"paul..pemiste@exemple.fr":       false,
		".paul@exemple.fr":               false,
		"Paul <paul@exemple.fr>":         false,
		"paul@exemple.fr\r\nBcc: x@y.fr": false,
		"":                               false,
	}
	for addr, ok := range tests {
		e := validate.Errors{}
		e.Email("email", addr)
		if e.Any() == ok {
			t.Errorf("%q accepted = %t, want %t", addr, !e.Any(), ok)
		}
	}
}

func TestBlank(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "   ": true, "\u202e\u200b": true, "\u200b\u00a0\u2060\n\t": true, "\ufeff\x00": true,
		"a": false, " \u202e a": false, "💡": false, "‍👩": false, "٣": false,
	} {
		if got := validate.Blank(s); got != want {
			t.Errorf("Blank(%q) = %t, want %t", s, got, want)
		}
	}
	e := validate.Errors{}
	e.Required("body", "\u202e\u200b", 10)
	if e["body"] != "form.required" {
		t.Errorf("a bidi override and a zero-width space pass as a value: %v", e)
	}
}

// Whole numbers as typed in French: spaces and a euro sign are no part of
// them; a decimal comma makes it no whole number (not a thousands comma).
func TestWhole(t *testing.T) {
	tests := []struct {
		in        string
		n         int64
		empty, ok bool
	}{
		{"", 0, true, true},
		{"  ", 0, true, true},
		{"250 000", 250_000, false, true},
		{"250\u202f000 € HT", 250_000, false, true},
		{"30", 30, false, true},
		{"250,5", 0, false, false},
		{"250 000,00", 0, false, false},
		{"beaucoup", 0, false, false},
	}
	for _, tc := range tests {
		n, empty, ok := validate.Whole(tc.in)
		if empty != tc.empty || ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("Whole(%q) = %d, %v, %v; want %d, %v, %v", tc.in, n, empty, ok, tc.n, tc.empty, tc.ok)
		}
	}
}
