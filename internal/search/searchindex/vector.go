package searchindex

import (
	"fmt"
	"strings"
)

// Term is one lexeme of a document with its weight there.
type Term struct {
	Lexeme string
	Score  uint16
}

// ParseVector reads a tsvector as PostgreSQL prints it:
// 'lexeme':1A,4 'other':2B 'it”s':3 — lexemes quoted (quotes doubled,
// backslashes escape), then optional positions with weights A, B, C (D
// when none is printed).
func ParseVector(s string) ([]Term, error) {
	var out []Term
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] != '\'' {
			return nil, fmt.Errorf("searchindex: tsvector at %d: want a quote", i)
		}
		i++
		var b strings.Builder
		for {
			if i >= len(s) {
				return nil, fmt.Errorf("searchindex: tsvector: unterminated lexeme")
			}
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(c)
			i++
		}
		var weights []byte
		if i < len(s) && s[i] == ':' {
			i++
			for i < len(s) && s[i] != ' ' {
				j := i
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				w := byte('D')
				if j < len(s) && (s[j] == 'A' || s[j] == 'B' || s[j] == 'C' || s[j] == 'D') {
					w = s[j]
					j++
				}
				weights = append(weights, w)
				if j < len(s) && s[j] == ',' {
					j++
				}
				i = j
			}
		} else {
			weights = []byte{'D'}
		}
		out = append(out, Term{Lexeme: b.String(), Score: termScore(weights)})
	}
	return out, nil
}

// ParseQuery reads websearch_to_tsquery's output when it is a plain AND of
// lexemes ('traval' & 'maternel'); ok is false for anything else (OR,
// NOT, phrases, prefixes), which search then runs in SQL.
func ParseQuery(s string) (terms []string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	for _, part := range strings.Split(s, " & ") {
		part = strings.TrimSpace(part)
		if len(part) < 2 || part[0] != '\'' || part[len(part)-1] != '\'' {
			return nil, false
		}
		lex := part[1 : len(part)-1]
		if strings.ContainsAny(lex, "'\\") {
			return nil, false
		}
		terms = append(terms, lex)
	}
	return terms, true
}
