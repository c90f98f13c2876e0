package taxonomy

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

var ligatures = strings.NewReplacer("œ", "oe", "Œ", "oe", "æ", "ae", "Æ", "ae", "’", "'")

// Fold lower-cases s, strips accents and turns punctuation into spaces:
// "Électricité, gaz" → "electricite gaz". Searches compare folded text.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, ligatures.Replace(s))
	if err != nil {
		out = s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return ' '
	}, out)
}

// stopWords are French words too common to narrow a label search.
var stopWords = map[string]bool{
	"a": true, "au": true, "aux": true, "d": true, "de": true, "des": true, "du": true,
	"en": true, "et": true, "l": true, "la": true, "le": true, "les": true, "ou": true,
	"par": true, "pour": true, "sur": true, "un": true, "une": true, "avec": true,
}

// searchTerms folds a query into its meaningful words, singularised and
// in the masculine.
func searchTerms(q string) []string {
	var terms []string
	for _, w := range strings.Fields(Fold(q)) {
		if stopWords[w] {
			continue
		}
		terms = append(terms, masculine(singular(w)))
	}
	return terms
}

// singular drops a French plural mark so that "logiciels" finds "logiciel"
// and "travaux" finds "travail" no more than it should: only s and x, on
// words long enough for the ending to be a plural.
func singular(w string) string {
	if len(w) > 3 && (strings.HasSuffix(w, "s") || strings.HasSuffix(w, "x")) {
		return w[:len(w)-1]
	}
	return w
}

// masculine folds a past participle's feminine ending, typed without its
// accent, into the masculine one: "integree" (intégrée) is a prefix of
// neither "integre" nor "integres", "integre" is of both.
func masculine(w string) string {
	if len(w) > 4 && strings.HasSuffix(w, "ee") {
		return w[:len(w)-1]
	}
	return w
}

func matchesAll(words, terms []string) bool {
	for _, t := range terms {
		found := false
		for _, w := range words {
			if strings.HasPrefix(w, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
