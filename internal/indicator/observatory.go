package indicator

import (
	"context"
	"slices"

	"passerelle/internal/member"
)

// YearAggregate is the sum over the large accounts that declared a year:
// its shares are weighted by purchases (Σ PME ÷ Σ total), as the
// association publishes them.
type YearAggregate struct {
	Year     int
	Accounts int // how many declared
	Total    int64
	PME      int64
	ETI      int64
}

// PMEShare is the year's share of purchases going to PMEs.
func (a YearAggregate) PMEShare() float64 { return share(a.PME, a.Total) }

// ETIShare is the year's share of purchases going to ETIs.
func (a YearAggregate) ETIShare() float64 { return share(a.ETI, a.Total) }

// AccountLine is one large account's declarations that count, by year.
type AccountLine struct {
	OrgID  int64
	Name   string
	Own    bool // the reader's own organisation
	ByYear map[int]Declaration
}

// Contribution is what went through the platform in a year: contracts
// won by SMEs from requests, and how many of them the buyer says it would
// not have consulted without Passerelle.
type Contribution struct {
	Year         int
	Contracts    int   // won by an SME (PME or ETI)
	Amount       int64 // their amount, € HT
	PMEContracts int   // of which won by a PME
	PMEAmount    int64
	Answered     int // contracts whose buyer answered the question
	WouldNot     int // … and said it would not have consulted the SME
}

// Observatory is what a reader may see of the declarations: the aggregate
// for everyone, every account's line for staff, its own line for a buyer.
type Observatory struct {
	Years        []int // every year declared, oldest first
	Aggregate    []YearAggregate
	Accounts     []AccountLine
	Contribution []Contribution
	AllAccounts  bool // staff: Accounts holds every account
}

// ContributionTotal sums the contribution over every year (Year is 0).
func (o Observatory) ContributionTotal() Contribution {
	var t Contribution
	for _, c := range o.Contribution {
		t.Contracts, t.Amount = t.Contracts+c.Contracts, t.Amount+c.Amount
		t.PMEContracts, t.PMEAmount = t.PMEContracts+c.PMEContracts, t.PMEAmount+c.PMEAmount
		t.Answered, t.WouldNot = t.Answered+c.Answered, t.WouldNot+c.WouldNot
	}
	return t
}

// WouldNotShare is the share of the contracts whose buyer answered that
// say it would not have consulted the SME without Passerelle.
func (c Contribution) WouldNotShare() (float64, bool) { return ratio(c.WouldNot, c.Answered) }

// Report is the observatory's page: the declarations and the platform's
// contribution, and the results of one barometer campaign.
type Report struct {
	Observatory
	Campaign Campaign // zero: no campaign yet
	Scores   []Score
}

// Report reads the observatory and the results of campaign campaignID
// (0: the latest) for actor.
func (s *Service) Report(ctx context.Context, actor member.Actor, campaignID int64) (Report, error) {
	o, err := s.Observatory(ctx, actor)
	if err != nil {
		return Report{}, err
	}
	c, scores, err := s.Results(ctx, actor, campaignID)
	return Report{Observatory: o, Campaign: c, Scores: scores}, err
}

// Year is the aggregate of one year, and whether it was declared at all.
func (o Observatory) Year(y int) (YearAggregate, bool) {
	for _, a := range o.Aggregate {
		if a.Year == y {
			return a, true
		}
	}
	return YearAggregate{Year: y}, false
}

// Observatory computes the observatory for actor: staff see every large
// account, a buyer the aggregate and its own account, an SME the aggregate.
func (s *Service) Observatory(ctx context.Context, actor member.Actor) (Observatory, error) {
	if !actor.SignedIn() {
		return Observatory{}, ErrForbidden
	}
	var o Observatory
	agg, err := s.store.aggregate(ctx, s.db)
	if err != nil {
		return o, wrap("observatory", err)
	}
	o.Aggregate = agg
	for _, a := range agg {
		o.Years = append(o.Years, a.Year)
	}
	o.AllAccounts = actor.IsStaff()
	if actor.IsStaff() || actor.IsBuyer() {
		decls, err := s.store.countingOf(ctx, s.db, actor.IsStaff(), actor.OrgID)
		if err != nil {
			return o, wrap("observatory accounts", err)
		}
		for _, d := range decls {
			if n := len(o.Accounts); n == 0 || o.Accounts[n-1].OrgID != d.OrgID {
				o.Accounts = append(o.Accounts, AccountLine{OrgID: d.OrgID, Name: d.OrgName, Own: d.OrgID == actor.OrgID, ByYear: map[int]Declaration{}})
			}
			o.Accounts[len(o.Accounts)-1].ByYear[d.Year] = d
		}
	}
	if o.Contribution, err = s.store.contribution(ctx, s.db); err != nil {
		return o, wrap("contribution", err)
	}
	for _, c := range o.Contribution {
		if !slices.Contains(o.Years, c.Year) {
			o.Years = append(o.Years, c.Year)
		}
	}
	slices.Sort(o.Years)
	return o, nil
}
