package indicator

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/validate"
)

// Figures are what a large account declares for one year.
type Figures struct {
	Total       int64   // purchases, € HT
	PME         int64   // of which from PMEs
	ETI         int64   // of which from ETIs
	PaymentDays float64 // average payment time, days
	OnTime      float64 // share of invoices paid on time, percent (0–100)
}

// PMEShare is purchases from PMEs ÷ total purchases.
func (f Figures) PMEShare() float64 { return share(f.PME, f.Total) }

// ETIShare is purchases from ETIs ÷ total purchases.
func (f Figures) ETIShare() float64 { return share(f.ETI, f.Total) }

func share(part, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(part) / float64(total)
}

// Declaration is one version of a large account's figures for a year.
type Declaration struct {
	ID      int64
	OrgID   int64
	OrgName string
	SIREN   string
	Year    int
	Version int
	Figures
	Source     string // form, import, demo
	AuthorName string
	CreatedAt  time.Time
}

// Input is the declaration form as typed: amounts may carry spaces
// ("1 234 567"), decimals a comma ("45,5").
type Input struct {
	Year, Total, PME, ETI, PaymentDays, OnTime string
}

// The checks' message ids, shared by the form and the CSV import.
const (
	errRequired   = "form.required"
	errNumber     = "indicator.err.number"
	errWhole      = "indicator.err.whole"
	errNegative   = "indicator.err.negative"
	errZeroTotal  = "indicator.err.zero_total"
	errAboveTotal = "indicator.err.above_total"
	errSumAbove   = "indicator.err.sum_above_total"
	errPercent    = "indicator.err.percent"
	errDays       = "indicator.err.days"
	errYear       = "indicator.err.year"
)

// parseNumber reads a French or English number: spaces (also no-break)
// group digits, a comma or a dot marks decimals, a trailing € or % is
// allowed. It reports the message id of what is wrong.
func parseNumber(s string) (float64, string) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "€"), "%")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\u202f' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return 0, errRequired
	}
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errNumber
	}
	if v < 0 {
		return 0, errNegative
	}
	return v, ""
}

// parseAmount reads whole euros.
func parseAmount(s string) (int64, string) {
	v, code := parseNumber(s)
	if code != "" {
		return 0, code
	}
	if v != math.Trunc(v) || v > 1e15 {
		return 0, errWhole
	}
	return int64(v), ""
}

// check parses and checks a declaration's fields against each other; the
// errors are keyed by field name (year, total, pme, eti, payment_days,
// on_time). thisYear bounds the year: nobody declares the future.
func (in Input) check(thisYear int) (int, Figures, validate.Errors) {
	errs := validate.Errors{}
	var f Figures
	year, err := strconv.Atoi(strings.TrimSpace(in.Year))
	switch {
	case strings.TrimSpace(in.Year) == "":
		errs.Add("year", errRequired)
	case err != nil || year < 2000 || year > thisYear:
		errs.Add("year", errYear)
	}
	var code string
	if f.Total, code = parseAmount(in.Total); code != "" {
		errs.Add("total", code)
	} else if f.Total == 0 {
		errs.Add("total", errZeroTotal)
	}
	if f.PME, code = parseAmount(in.PME); code != "" {
		errs.Add("pme", code)
	}
	if f.ETI, code = parseAmount(in.ETI); code != "" {
		errs.Add("eti", code)
	}
	if f.PaymentDays, code = parseNumber(in.PaymentDays); code != "" {
		errs.Add("payment_days", code)
	} else if f.PaymentDays > 999 {
		errs.Add("payment_days", errDays)
	}
	if f.OnTime, code = parseNumber(in.OnTime); code != "" {
		errs.Add("on_time", code)
	} else if f.OnTime > 100 {
		errs.Add("on_time", errPercent)
	}
	if _, bad := errs["total"]; !bad && f.Total > 0 {
		_, badPME := errs["pme"]
		_, badETI := errs["eti"]
		switch {
		case !badPME && f.PME > f.Total:
			errs.Add("pme", errAboveTotal)
		case !badETI && f.ETI > f.Total:
			errs.Add("eti", errAboveTotal)
		case !badPME && !badETI && f.PME+f.ETI > f.Total:
			errs.Add("eti", errSumAbove)
		}
	}
	f.PaymentDays = math.Round(f.PaymentDays*10) / 10
	f.OnTime = math.Round(f.OnTime*100) / 100
	return year, f, errs
}

// Declare records the figures of orgID for a year: a buyer of that large
// account declares its own. A second declaration of the same year is a
// correction: a new version, the earlier ones kept. Figures identical to
// the current version change nothing (a double submit). It returns the
// version that counts.
func (s *Service) Declare(ctx context.Context, actor member.Actor, orgID int64, in Input) (int, error) {
	if !actor.IsBuyer() || actor.OrgID != orgID {
		return 0, ErrForbidden
	}
	year, f, errs := in.check(s.Now().Year())
	if errs.Any() {
		return 0, &validate.Error{Fields: errs}
	}
	var version int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		v, err := once.Do(ctx, tx, "declaration", func() (int64, error) {
			name, err := s.store.lockAccount(ctx, tx, orgID)
			if err != nil {
				return 0, err
			}
			version, changed, err := s.insert(ctx, tx, orgID, year, f, actor)
			if err != nil || !changed {
				return int64(version), err
			}
			action := ActionDeclared
			if version > 1 {
				action = ActionCorrected
			}
			return int64(version), audit.Record(ctx, tx, actor.AuditEntry(action, orgID, name, strconv.Itoa(year)))
		})
		version = int(v)
		return err
	})
	return version, wrap("declare", err)
}

// insert writes a buyer's new version of (org, year) unless the current
// one holds the same figures; the caller holds the organisation's row
// lock. (Imports write theirs in bulk: insertChunk.)
func (s *Service) insert(ctx context.Context, tx pgx.Tx, orgID int64, year int, f Figures, actor member.Actor) (int, bool, error) {
	cur, found, err := s.store.current(ctx, tx, orgID, year)
	if err != nil {
		return 0, false, err
	}
	if found && cur.Figures == f {
		return cur.Version, false, nil
	}
	return cur.Version + 1, true, s.store.insertDeclaration(ctx, tx, orgID, year, cur.Version+1, f, actor.UserID, actor.Name, s.Now())
}

// History is every version of every year orgID declared, the latest year
// and version first: its buyers and staff read it.
func (s *Service) History(ctx context.Context, actor member.Actor, orgID int64) ([]Declaration, error) {
	if !actor.IsStaff() && !(actor.IsBuyer() && actor.OrgID == orgID) {
		return nil, ErrForbidden
	}
	list, err := s.store.history(ctx, s.db, orgID)
	return list, wrap("history", err)
}

// Current is the declaration that counts of every large account, for one
// year (0: every year), for staff.
func (s *Service) Current(ctx context.Context, actor member.Actor, year int) ([]Declaration, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	list, err := s.store.counting(ctx, s.db, year)
	return list, wrap("current", err)
}

// Years are the years declared, the latest first, for staff.
func (s *Service) Years(ctx context.Context, actor member.Actor) ([]int, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	years, err := s.store.years(ctx, s.db)
	return years, wrap("years", err)
}

// Desk is staff's page of declarations: the years declared, the
// declarations that count in one of them, and the latest imports.
type Desk struct {
	Years   []int // the latest first
	Year    int   // the year shown; 0 when none was declared
	Current []Declaration
	Imports []Import
}

// Desk reads staff's page of declarations for year (0, or a year not
// declared: the latest).
func (s *Service) Desk(ctx context.Context, actor member.Actor, year int) (Desk, error) {
	var d Desk
	var err error
	if d.Imports, err = s.Imports(ctx, actor); err != nil {
		return d, err
	}
	if d.Years, err = s.Years(ctx, actor); err != nil || len(d.Years) == 0 {
		return d, err
	}
	d.Year = d.Years[0]
	if year != 0 {
		d.Year = year
	}
	d.Current, err = s.Current(ctx, actor, d.Year)
	return d, err
}
