// Package validate collects field errors of a form. Messages are catalogue
// ids, translated by the view in the user's language.
package validate

import (
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors maps a form field to the id of its error message.
type Errors map[string]string

// Add records the first error of field.
func (e Errors) Add(field, msgID string) {
	if _, ok := e[field]; !ok {
		e[field] = msgID
	}
}

// Any reports whether some field is invalid.
func (e Errors) Any() bool { return len(e) > 0 }

// Required checks a trimmed value is present and at most max characters.
func (e Errors) Required(field, value string, max int) {
	switch {
	case Blank(value):
		e.Add(field, "form.required")
	case utf8.RuneCountInString(value) > max:
		e.Add(field, "form.too_long")
	}
}

// MaxLen checks an optional value is at most max characters.
func (e Errors) MaxLen(field, value string, max int) {
	if utf8.RuneCountInString(value) > max {
		e.Add(field, "form.too_long")
	}
}

// Email checks an address is well formed (and a bare address, no name).
func (e Errors) Email(field, value string) {
	if strings.TrimSpace(value) == "" {
		e.Add(field, "form.required")
		return
	}
	a, err := mail.ParseAddress(value)
	if err != nil || a.Address != value || len(value) > 254 || !deliverable(value) {
		e.Add(field, "form.email_invalid")
	}
}

// deliverable reports whether the mail path (SMTP without SMTPUTF8) can
// send to an address: an ASCII dot-atom local part and a domain name of
// letters, digits and hyphens with a top-level domain; no quoted local
// part, no IP literal, no bare host.
func deliverable(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 || at > 64 {
		return false
	}
	local, domain := addr[:at], addr[at+1:]
	for _, atom := range strings.Split(local, ".") {
		if atom == "" || strings.ContainsFunc(atom, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+/=?^_`{|}~-", r))
		}) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || len(domain) > 253 {
		return false
	}
	for i, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.ContainsFunc(l, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}) {
			return false
		}
		if i == len(labels)-1 && (len(l) < 2 || strings.ContainsAny(l, "0123456789-")) {
			return false
		}
	}
	return true
}

// Password checks length bounds: long enough to resist guessing, short
// enough to bound hashing work.
func (e Errors) Password(field, value string) {
	n := utf8.RuneCountInString(value)
	switch {
	case n == 0:
		e.Add(field, "form.required")
	case n < 10:
		e.Add(field, "form.password_short")
	case n > 128:
		e.Add(field, "form.too_long")
	}
}

// URL checks an optional value is an absolute http(s) address.
func (e Errors) URL(field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(value) > 300 {
		e.Add(field, "form.url_invalid")
	}
}

// Clean trims a value and drops control characters other than newlines,
// so stored text never carries invisible bytes.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Blank reports whether s shows nothing: only spaces, control and
// invisible format characters (a bidi override and a zero-width space
// are no message).
func Blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) && !unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Line cleans a one-line text that people read as a name or a title: like
// Clean, and without the invisible characters that can make it read as
// another (bidi overrides, zero-width spaces and joiners, soft hyphens),
// its line breaks and runs of spaces folded into one space.
func Line(s string) string {
	s = Clean(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r):
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// NormEmail trims and lower-cases an e-mail address.
func NormEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Shorten cuts s to at most n characters (runes), ending with "…" when it
// had to cut: for text shown in lists.
func Shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}

// Clip cuts s to at most n characters (runes): for text stored under a
// length limit.
func Clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// Error is the one shape of invalid input every domain returns: the field
// errors (catalogue ids) that the form shows next to each field.
type Error struct{ Fields Errors }

func (e *Error) Error() string { return "invalid input" }

// PlaceErrors marks the place fields of a form ("regions",
// "departements") that held a code the taxonomy does not know.
func PlaceErrors(e Errors, badRegions, badDepartements bool) {
	if badRegions {
		e.Add("regions", "form.choose")
	}
	if badDepartements {
		e.Add("departements", "form.choose")
	}
}

// Distinct trims values and drops the empty and repeated ones.
func Distinct(values []string) []string {
	var out []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// CPVCodes cleans CPV codes as typed or ticked: trimmed, the check digit
// ("72212000-4") dropped, duplicates removed.
func CPVCodes(codes []string) []string {
	out := []string{}
	for _, c := range codes {
		c, _, _ = strings.Cut(strings.TrimSpace(c), "-")
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// CPVErrors checks a form's CPV codes (field "cpv"): at least one, at most
// max, each known to the taxonomy.
func CPVErrors(e Errors, codes []string, max int, known func(code string) bool) {
	switch {
	case len(codes) == 0:
		e.Add("cpv", "offer.cpv_required")
	case len(codes) > max:
		e.Add("cpv", "offer.cpv_too_many")
	default:
		for _, c := range codes {
			if !known(c) {
				e.Add("cpv", "offer.cpv_unknown")
			}
		}
	}
}

// Whole reads a whole number as people type it: "250 000", "250 000 €",
// "250 000 € HT" (spaces, non-breaking spaces, a euro sign and "HT" left
// out). A comma or a point is no thousands separator here — in French it
// starts decimals — so "250,5" is no whole number rather than 2 505.
// empty is true when nothing was typed; ok false when what was typed is no
// whole number.
func Whole(s string) (n int64, empty, ok bool) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "€", "", "HT", "", "ht", "").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0, true, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, false, err == nil
}
