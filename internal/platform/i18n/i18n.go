// Package i18n translates the interface: French by default, English
// available. Every visible string lives in a catalogue, one per area and
// language: locales/<area>.<lang>.json (go-i18n message files: common,
// member, offer, profile, search, moderation, notify, audit…; a new
// domain adds its own pair). Numbers, money and dates are formatted the
// way each language writes them.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var localesFS embed.FS

// Languages the interface is offered in; the first is the default.
var Languages = []string{"fr", "en"}

// Default is the language of a visitor who has not chosen one.
const Default = "fr"

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Catalog holds both languages' messages.
type Catalog struct {
	bundle *goi18n.Bundle
	locs   map[string]*Localizer
}

// Load reads the embedded catalogues.
func Load() (*Catalog, error) {
	b := goi18n.NewBundle(language.French)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	seen := map[string]string{} // id → file, per language: an id lives in one area
	for _, area := range Areas() {
		for _, l := range Languages {
			file := "locales/" + area + "." + l + ".json"
			ids, err := areaIDs(area, l)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if other, dup := seen[l+" "+id]; dup {
					return nil, fmt.Errorf("i18n: %q is in both %s and %s", id, other, file)
				}
				seen[l+" "+id] = file
			}
			if _, err := b.LoadMessageFileFS(localesFS, file); err != nil {
				return nil, fmt.Errorf("i18n: %w", err)
			}
		}
	}
	c := &Catalog{bundle: b, locs: map[string]*Localizer{}}
	for _, l := range Languages {
		c.locs[l] = &Localizer{lang: l, loc: goi18n.NewLocalizer(b, l)}
	}
	return c, nil
}

// MustLoad is Load for program start and tests: the catalogues are
// embedded, so a failure is a build defect.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Localizer returns the localizer for lang, the default one for an unknown lang.
func (c *Catalog) Localizer(lang string) *Localizer {
	if l, ok := c.locs[lang]; ok {
		return l
	}
	return c.locs[Default]
}

// Areas lists the catalogues' areas (the <area> of locales/<area>.<lang>.json).
func Areas() []string {
	files, _ := fs.Glob(localesFS, "locales/*."+Default+".json")
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(path.Base(f), "."+Default+".json"))
	}
	sort.Strings(out)
	return out
}

// AreaMessageIDs lists the ids one area defines for lang (catalogue tests).
func AreaMessageIDs(area, lang string) ([]string, error) { return areaIDs(area, lang) }

func areaIDs(area, lang string) ([]string, error) {
	b, err := localesFS.ReadFile("locales/" + area + "." + lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("i18n: %s.%s.json: %w", area, lang, err)
	}
	ids := make([]string, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	return ids, nil
}

// MessageIDs lists the ids defined for lang in every area.
func MessageIDs(lang string) ([]string, error) {
	var all []string
	for _, area := range Areas() {
		ids, err := areaIDs(area, lang)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
	}
	return all, nil
}

// Localizer translates into one language.
type Localizer struct {
	lang string
	loc  *goi18n.Localizer
}

// Lang is the language code ("fr" or "en").
func (l *Localizer) Lang() string { return l.lang }

// T returns message id, filling its {{.Name}} placeholders from kv pairs
// ("Name", value, …). A missing message shows its id in brackets, which the
// catalogue tests forbid.
func (l *Localizer) T(id string, kv ...any) string {
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if len(kv) > 0 {
		data := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k := fmt.Sprint(kv[i])
			data[k] = kv[i+1]
			if k == "Count" && isInteger(kv[i+1]) {
				cfg.PluralCount = kv[i+1]
			}
		}
		cfg.TemplateData = data
	}
	s, err := l.loc.Localize(cfg)
	if err != nil && cfg.PluralCount != nil {
		// A message written as one string has no "one"/"few" forms: the
		// count fills it all the same.
		cfg.PluralCount = nil
		s, err = l.loc.Localize(cfg)
	}
	if err != nil {
		return "[" + id + "]"
	}
	return s
}

// isInteger reports whether v can choose a plural form (a formatted
// number such as "1 234" cannot).
func isInteger(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// Int formats n with the language's digit grouping: 1 234 567 / 1,234,567.
func (l *Localizer) Int(n int64) string {
	sep := ","
	if l.lang == "fr" {
		sep = "\u00a0"
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Money formats whole euros: "1 234 567 €" in French, "€1,234,567" in English.
func (l *Localizer) Money(euros int64) string {
	if l.lang == "fr" {
		return l.Int(euros) + "\u00a0€"
	}
	return "€" + l.Int(euros)
}

// Percent formats a share with at most one decimal: 0.224 → "22,4 %" /
// "22.4%", 0.24 → "24 %".
func (l *Localizer) Percent(share float64) string {
	v := math.Round(share*1000) / 10
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if l.lang == "fr" {
		return strings.Replace(s, ".", ",", 1) + "\u00a0%"
	}
	return s + "%"
}

// Date formats a day: 25/11/2026 in French, 25 Nov 2026 in English.
func (l *Localizer) Date(t time.Time) string {
	if l.lang == "fr" {
		return t.Format("02/01/2006")
	}
	return t.Format("2 Jan 2006")
}

// paris is the time zone times are shown in.
var paris = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}()

// DateTime formats a moment in France's time: 25/11/2026 14:05 in French,
// 25 Nov 2026 14:05 in English.
func (l *Localizer) DateTime(t time.Time) string {
	t = t.In(paris)
	return l.Date(t) + " " + t.Format("15:04")
}

type ctxKey struct{}

// WithLocalizer stores l in ctx for the views.
func WithLocalizer(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

var fallback = MustLoad()

// FromContext returns the request's localizer, French when none was set.
func FromContext(ctx context.Context) *Localizer {
	if l, ok := ctx.Value(ctxKey{}).(*Localizer); ok {
		return l
	}
	return fallback.Localizer(Default)
}

// T translates id in the request's language (shorthand for views).
func T(ctx context.Context, id string, kv ...any) string {
	return FromContext(ctx).T(id, kv...)
}
