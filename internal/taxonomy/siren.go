package taxonomy

import "strings"

// laPosteSIREN is the one company whose establishments' SIRETs do not pass
// the Luhn check: INSEE numbers them so the sum of their digits is a
// multiple of 5.
const laPosteSIREN = "356000000"

// NormalizeID removes the spaces, dots and non-breaking spaces people type in
// identifiers ("552 100 554" → "552100554").
func NormalizeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '\u00a0', '\u202f', '\t', '-':
			return -1
		}
		return r
	}, s)
}

// ValidSIREN reports whether s (already normalised) is 9 digits passing the
// Luhn checksum.
func ValidSIREN(s string) bool {
	return len(s) == 9 && isDigits(s) && luhn(s)
}

// ValidSIRET reports whether s (already normalised) is 14 digits whose first
// 9 form a valid SIREN and that pass the Luhn checksum, or for La Poste the
// digit-sum rule.
func ValidSIRET(s string) bool {
	if len(s) != 14 || !isDigits(s) || !ValidSIREN(s[:9]) {
		return false
	}
	if luhn(s) {
		return true
	}
	if s[:9] == laPosteSIREN {
		sum := 0
		for _, r := range s {
			sum += int(r - '0')
		}
		return sum%5 == 0
	}
	return false
}

func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
