package purchase

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"passerelle/internal/platform/validate"
)

func cleanText(s string) string { return validate.Clean(s) }

// parseEuros reads an amount as people type it: "120000", "120 000",
// "120 000,50 €", "120000.5"; it rounds to the euro.
func parseEuros(s string) (int64, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '€':
			return -1
		case ',':
			return '.'
		}
		return r
	}, s)
	if s == "" {
		return 0, errors.New("empty")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e13 {
		return 0, errors.New("not an amount")
	}
	return int64(math.Round(f)), nil
}
