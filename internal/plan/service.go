package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/validate"
	"passerelle/internal/registers"
	"passerelle/internal/taxonomy"
)

// Marks reads accounts' barometer marks for a year (the indicator
// service); an account with too few answers has none.
type Marks interface {
	Marks(ctx context.Context, accounts []int64, year int) (map[int64]float64, error)
}

// Service keeps the plans and measures their commitments.
type Service struct {
	db    *pgxpool.Pool
	marks Marks
	store store
	// Notify tells the year's committee that an assessment awaits its
	// comments; nil: no mail.
	Notify Notifier
	// Now is the clock (tests move it).
	Now func() time.Time
}

// NewService returns the plans' service; marks may be nil (no barometer).
func NewService(db *pgxpool.Pool, marks Marks) *Service {
	return &Service{db: db, marks: marks, Now: time.Now}
}

// Measure is a commitment with what its year measured, where that comes
// from and where it stands.
type Measure struct {
	Commitment
	Value   *float64
	Source  string // declaration, decp, platform, barometer, plan; "" when unmeasured
	Outcome Outcome
}

// View is a plan as its reader may see it: its measures, its comments and
// what the reader may do.
type View struct {
	Plan     Plan
	Measures []Measure
	Comments []Comment
	Versions int
	Actions  []Action
}

// Input is the plan form as typed: a target per indicator (empty: no
// commitment), the referent, public or not.
type Input struct {
	Targets  map[Indicator]string
	Referent string
	Public   bool
}

// role is the actor's role on plan p.
func (s *Service) role(ctx context.Context, actor member.Actor, p Plan) (Role, error) {
	committee := false
	if actor.IsSME() {
		var err error
		if committee, err = s.store.inCommittee(ctx, s.db, p.Year, actor.OrgID); err != nil {
			return RoleOther, err
		}
	}
	return roleOf(actor, p, committee), nil
}

// roleOf is the actor's role on plan p, committee telling whether the
// actor's SME sits on the committee of p's year.
func roleOf(actor member.Actor, p Plan, committee bool) Role {
	switch {
	case actor.IsStaff():
		return RoleStaff
	case actor.IsBuyer() && actor.OrgID == p.OrgID:
		return RoleOwner
	case actor.IsSME() && committee:
		return RoleCommittee
	}
	return RoleOther
}

// Get is plan id for its reader; ErrNotFound for whoever may not read it.
func (s *Service) Get(ctx context.Context, actor member.Actor, id int64) (View, error) {
	p, err := s.store.one(ctx, s.db, `p.id = $1`, id)
	if err != nil {
		return View{}, wrap("get", err)
	}
	return s.view(ctx, actor, p)
}

// Mine is the actor's large account's plan for year; ErrNotFound when it
// wrote none yet.
func (s *Service) Mine(ctx context.Context, actor member.Actor, year int) (View, error) {
	if !actor.IsBuyer() {
		return View{}, ErrForbidden
	}
	p, err := s.store.one(ctx, s.db, `p.organisation_id = $1 AND p.year = $2`, actor.OrgID, year)
	if err != nil {
		return View{}, wrap("mine", err)
	}
	return s.view(ctx, actor, p)
}

func (s *Service) view(ctx context.Context, actor member.Actor, p Plan) (View, error) {
	role, err := s.role(ctx, actor, p)
	if err != nil {
		return View{}, wrap("view", err)
	}
	sit := SituationOf(p, s.Now())
	if _, ok := Next(sit, role, ActRead); !ok {
		return View{}, ErrNotFound
	}
	v := View{Plan: p, Actions: Allowed(sit, role)}
	if v.Measures, err = s.measure(ctx, p); err != nil {
		return v, wrap("view", err)
	}
	if v.Comments, err = s.store.comments(ctx, s.db, p.ID); err != nil {
		return v, wrap("view", err)
	}
	v.Versions, err = s.store.versions(ctx, s.db, p.ID)
	return v, wrap("view", err)
}

// measure reads what the year measured of each commitment of p.
func (s *Service) measure(ctx context.Context, p Plan) ([]Measure, error) {
	all, err := s.measureAll(ctx, p.Year, []Plan{p})
	if err != nil {
		return nil, err
	}
	return all[0], nil
}

// measureAll reads what year measured of each commitment of the plans (of
// that year), a few statements for them all: the latest declaration of
// the year, else (PME and ETI shares of a public buyer) the DECP
// register; the platform's requests and contracts won; the barometer's
// mark from 5 answers; the referent named in the plan. Only the DECP is
// read account by account, for public buyers that declared nothing.
func (s *Service) measureAll(ctx context.Context, year int, plans []Plan) ([][]Measure, error) {
	orgs := make([]int64, len(plans))
	for i, p := range plans {
		orgs[i] = p.OrgID
	}
	declared, err := s.store.declaredAll(ctx, s.db, orgs, year)
	if err != nil {
		return nil, err
	}
	platform, err := s.store.platformAll(ctx, s.db, orgs, year)
	if err != nil {
		return nil, err
	}
	marks := map[int64]float64{}
	if s.marks != nil {
		if marks, err = s.marks.Marks(ctx, orgs, year); err != nil {
			return nil, err
		}
	}
	out := make([][]Measure, len(plans))
	for i, p := range plans {
		fig, hasDeclaration := declared[p.OrgID]
		var decp *registers.YearShares
		measures := make([]Measure, 0, len(p.Commitments))
		for _, c := range p.Commitments {
			m := Measure{Commitment: c}
			set := func(v float64, source string) { m.Value, m.Source = &v, source }
			switch c.Indicator {
			case PMEShare, ETIShare, PaymentDays, OnTime:
				switch {
				case hasDeclaration:
					set(map[Indicator]float64{PMEShare: 100 * fig.PMEShare(), ETIShare: 100 * fig.ETIShare(), PaymentDays: fig.PaymentDays,
						OnTime: fig.OnTime}[c.Indicator], "declaration")
				case p.OrgKind == "public" && (c.Indicator == PMEShare || c.Indicator == ETIShare):
					if decp == nil {
						if decp, err = s.decpYear(ctx, p.SIREN, year); err != nil {
							return nil, err
						}
					}
					if decp.Amounts.Total() > 0 {
						cat := map[Indicator]string{PMEShare: "pme", ETIShare: "eti"}[c.Indicator]
						set(100*decp.Amounts.Share(cat), "decp")
					}
				}
			case Requests:
				set(float64(platform[p.OrgID][0]), "platform")
			case SMEContracts:
				set(float64(platform[p.OrgID][1]), "platform")
			case Barometer:
				if mark, ok := marks[p.OrgID]; ok {
					set(mark, "barometer")
				}
			case Referent:
				named := 0.0
				if strings.TrimSpace(p.Referent) != "" {
					named = 1
				}
				set(named, "plan")
			}
			if m.Value != nil {
				rounded := math.Round(*m.Value*10) / 10
				m.Value = &rounded
			}
			m.Outcome = OutcomeOf(c, m.Value)
			measures = append(measures, m)
		}
		out[i] = measures
	}
	return out, nil
}

// decpYear is a public buyer's year in the DECP register (empty amounts
// when the register holds none).
func (s *Service) decpYear(ctx context.Context, siren string, year int) (*registers.YearShares, error) {
	shares, err := registers.Shares(ctx, s.db, registers.Scope{Buyer: siren})
	if err != nil {
		return nil, err
	}
	for i := range shares {
		if shares[i].Year == year {
			return &shares[i], nil
		}
	}
	return &registers.YearShares{Year: year}, nil
}

// parse checks the form: each target a number within its indicator's
// range (a comma for decimals, spaces between thousands).
func (in Input) parse() ([]Commitment, string, validate.Errors) {
	errs := validate.Errors{}
	var out []Commitment
	for _, ind := range Indicators {
		raw := strings.TrimSpace(in.Targets[ind])
		if ind == Referent {
			continue
		}
		if raw == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", ",", ".", "%", "").Replace(raw), 64)
		if err != nil || v < 0 || v > ind.Max() || math.IsNaN(v) {
			errs.Add("target_"+string(ind), "plan.target_invalid")
			continue
		}
		out = append(out, Commitment{Indicator: ind, Target: math.Round(v*100) / 100})
	}
	referent := validate.Line(in.Referent)
	errs.MaxLen("referent", referent, MaxReferent)
	if referent != "" || strings.TrimSpace(in.Targets[Referent]) != "" {
		out = append(out, Commitment{Indicator: Referent, Target: 1})
	}
	if len(out) == 0 {
		errs.Add("target_"+string(PMEShare), "plan.no_commitment")
	}
	return out, referent, errs
}

// Save writes the actor's plan for year (created on first save): its
// commitments, referent and visibility, as a new version, while it is a
// draft or published.
func (s *Service) Save(ctx context.Context, actor member.Actor, year int, in Input) (int64, error) {
	if !actor.IsBuyer() {
		return 0, ErrForbidden
	}
	if year < s.Now().Year()-1 || year > s.Now().Year()+1 {
		return 0, &ValidationError{Fields: validate.Errors{"year": "plan.year_invalid"}}
	}
	commitments, referent, errs := in.parse()
	if errs.Any() {
		return 0, &ValidationError{Fields: errs}
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if id, err = s.store.create(ctx, tx, actor.OrgID, year); err != nil {
			return err
		}
		p, err := s.step(ctx, tx, actor, id, ActEdit)
		if err != nil {
			return err
		}
		p.Commitments, p.Referent, p.Public = commitments, referent, in.Public
		if err := s.store.write(ctx, tx, p, actor.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionSaved, p.OrgID, p.OrgName, strconv.Itoa(year)))
	})
	return id, wrap("save", err)
}

// Publish sets the actor's plan for the year.
func (s *Service) Publish(ctx context.Context, actor member.Actor, id int64) error {
	return s.change(ctx, actor, id, ActPublish, ActionPublished, func(p *Plan) error {
		if len(p.Commitments) == 0 {
			return &ValidationError{Fields: validate.Errors{"target_" + string(PMEShare): "plan.no_commitment"}}
		}
		return nil
	})
}

// Assess writes the year-end self-assessment (from December 1st, or for a
// past year).
func (s *Service) Assess(ctx context.Context, actor member.Actor, id int64, text string) error {
	text = validate.Clean(text)
	first := false
	return s.change(ctx, actor, id, ActAssess, ActionAssessed, func(p *Plan) error {
		errs := validate.Errors{}
		errs.Required("self_assessment", text, MaxSelfAssessment)
		if errs.Any() {
			return &ValidationError{Fields: errs}
		}
		first = p.AssessedAt == nil
		p.SelfAssessment = text
		return nil
	}, func(ctx context.Context, tx pgx.Tx, p Plan) error {
		if !first || s.Notify == nil {
			return nil // told once, when the assessment is first written
		}
		orgs, err := s.store.committee(ctx, tx, p.Year)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if err := s.Notify.Organisation(ctx, tx, org, Committee, "plan_assessed", "Org", p.OrgName, "Year", strconv.Itoa(p.Year),
				"URL", fmt.Sprintf("%s/plans/%d", s.Notify.BaseURL(), p.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Comment adds staff's (signed) or a committee SME's (anonymous) comment
// on the self-assessment.
func (s *Service) Comment(ctx context.Context, actor member.Actor, id int64, body string) error {
	body = validate.Clean(body)
	errs := validate.Errors{}
	errs.Required("comment", body, MaxComment)
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return s.change(ctx, actor, id, ActComment, ActionCommented, func(p *Plan) error { return nil }, func(ctx context.Context, tx pgx.Tx, p Plan) error {
		return s.store.addComment(ctx, tx, p.ID, actor.UserID, actor.Name, actor.IsStaff(), body)
	})
}

// Close ends a commented plan (staff).
func (s *Service) Close(ctx context.Context, actor member.Actor, id int64) error {
	return s.change(ctx, actor, id, ActClose, ActionClosed, func(p *Plan) error { return nil })
}

// change takes one step on plan id in a transaction: the table decides
// whether the actor may and where it leads; edit changes the plan, then
// after writes what goes with it (a comment); the audit log records it.
func (s *Service) change(ctx context.Context, actor member.Actor, id int64, act Action, action audit.Action, edit func(p *Plan) error,
	after ...func(ctx context.Context, tx pgx.Tx, p Plan) error) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		p, err := s.step(ctx, tx, actor, id, act)
		if err != nil {
			return err
		}
		if err := edit(&p); err != nil {
			return err
		}
		if err := s.store.write(ctx, tx, p, actor.UserID); err != nil {
			return err
		}
		for _, f := range after {
			if err := f(ctx, tx, p); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor.AuditEntry(action, p.OrgID, p.OrgName, strconv.Itoa(p.Year)))
	})
	return wrap(string(act), err)
}

// step locks plan id and checks the actor may take act on it: the plan
// with its next status. Whoever may not read it gets ErrNotFound.
func (s *Service) step(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64, act Action) (Plan, error) {
	p, err := s.store.lock(ctx, tx, id)
	if err != nil {
		return p, err
	}
	role, err := s.role(ctx, actor, p)
	if err != nil {
		return p, err
	}
	sit := SituationOf(p, s.Now())
	if _, ok := Next(sit, role, ActRead); !ok {
		return p, ErrNotFound
	}
	to, ok := Next(sit, role, act)
	if !ok {
		if role == RoleOther {
			return p, ErrForbidden
		}
		return p, ErrInvalidState
	}
	p.Status = to
	return p, nil
}

// Invite adds a member SME, by SIREN, to the committee of year's plans.
func (s *Service) Invite(ctx context.Context, actor member.Actor, year int, siren string) error {
	if !actor.IsStaff() {
		return ErrForbidden
	}
	siren = strings.ReplaceAll(strings.TrimSpace(siren), " ", "")
	if !taxonomy.ValidSIREN(siren) {
		return &ValidationError{Fields: validate.Errors{"siren": "plan.siren_invalid"}}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		org, name, err := s.store.invite(ctx, tx, year, siren)
		if errors.Is(err, ErrNotFound) {
			return &ValidationError{Fields: validate.Errors{"siren": "plan.siren_not_member"}}
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionInvited, org, name, strconv.Itoa(year)))
	})
	return wrap("invite", err)
}

// Summary is a plan in a list, with its commitments' outcomes counted.
type Summary struct {
	Plan
	Counts map[Outcome]int
}

// List is the year's plans the actor may read, each with its outcomes:
// staff all of them, a committee SME those published, a buyer its own
// and the public ones, anyone else the public ones.
func (s *Service) List(ctx context.Context, actor member.Actor, year int) ([]Summary, error) {
	all, err := s.store.plans(ctx, s.db, `p.year = $1`, year)
	if err != nil {
		return nil, wrap("list", err)
	}
	committee := false
	if actor.IsSME() {
		if committee, err = s.store.inCommittee(ctx, s.db, year, actor.OrgID); err != nil {
			return nil, wrap("list", err)
		}
	}
	var readable []Plan
	for _, p := range all {
		if _, ok := Next(SituationOf(p, s.Now()), roleOf(actor, p, committee), ActRead); ok {
			readable = append(readable, p)
		}
	}
	measures, err := s.measureAll(ctx, year, readable)
	if err != nil {
		return nil, wrap("list", err)
	}
	out := make([]Summary, len(readable))
	for i, p := range readable {
		out[i] = Summary{Plan: p, Counts: map[Outcome]int{}}
		for _, m := range measures[i] {
			out[i].Counts[m.Outcome]++
		}
	}
	return out, nil
}

func wrap(op string, err error) error {
	var v *ValidationError
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrInvalidState), errors.As(err, &v):
		return err
	}
	return fmt.Errorf("plan: %s: %w", op, err)
}
