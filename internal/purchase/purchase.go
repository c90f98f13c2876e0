// Package purchase is about large accounts' purchase requests and the
// engagement loop around them: a buyer writes a request, staff review it,
// it opens to the SMEs that fit it (or to all member SMEs); an SME says it
// is interested (with a message, its answers to the buyer's questions and
// one of its offers) or not (with a reason); the buyer shortlists,
// accepts (a conversation opens, an anonymous buyer is revealed) or
// declines with a reason; a contract won records its amount and date; the
// request closes, and seven days after its deadline the buyer is asked
// what happened. Every step is authorised here, audited and kept with its
// time in request_events, which the indicators read.
package purchase

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
)

// Status is where a request stands: draft → submitted → open → closed, or
// rejected (sent back by staff with a reason, to edit and submit again).
type Status string

// The statuses.
const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusOpen      Status = "open"
	StatusClosed    Status = "closed"
	StatusRejected  Status = "rejected"
)

// Statuses are every status of a request.
var Statuses = []Status{StatusDraft, StatusSubmitted, StatusOpen, StatusClosed, StatusRejected}

// Outcomes a closed request ends with.
var Outcomes = []string{"awarded", "not_awarded", "cancelled"}

// FollowUps are the buyer's answers to "what happened?" after the deadline.
var FollowUps = []string{"passerelle", "other", "not_yet", "cancelled"}

// Counterfactuals are the buyer's answers, for a contract awarded through
// Passerelle, to "without Passerelle, would you have consulted these SMEs?".
var Counterfactuals = []string{"yes", "no", "unsure"}

// BudgetBands are the budget bands a request chooses from (€ HT).
var BudgetBands = []string{"lt40k", "40k_100k", "100k_500k", "500k_2m", "gt2m"}

// InnovativeBands are the bands under 100 k€ HT, the ceiling of the
// "achat innovant" route (décret 2018-1225, art. R2122-9-1).
var InnovativeBands = []string{"lt40k", "40k_100k"}

// Visibilities: every member SME, or only the SMEs matched to the request.
var Visibilities = []string{"all", "matched"}

// NotInterestedReasons are the reasons an SME picks when it declines.
var NotInterestedReasons = []string{"scope", "capacity", "budget", "deadline", "place", "other"}

// State is where an SME stands with a request, the line both sides see.
type State string

// The states of a match.
const (
	StateSuggested     State = "suggested"
	StateViewed        State = "viewed"
	StateInterested    State = "interested"
	StateNotInterested State = "not_interested"
	StateShortlisted   State = "shortlisted"
	StateDiscussion    State = "discussion"
	StateWon           State = "won"
	StateLost          State = "lost"
	StateDeclined      State = "declined"
)

// States are every state of a match.
var States = []State{StateSuggested, StateViewed, StateInterested, StateNotInterested, StateShortlisted,
	StateDiscussion, StateWon, StateLost, StateDeclined}

// Answered reports whether the SME has said it is interested, and the
// buyer may see its answer.
func (s State) Answered() bool {
	switch s {
	case StateInterested, StateShortlisted, StateDiscussion, StateWon, StateLost, StateDeclined:
		return true
	}
	return false
}

// Reveals reports whether the buyer accepted the SME, which reveals an
// anonymous buyer and opens the conversation.
func (s State) Reveals() bool { return s == StateDiscussion || s == StateWon || s == StateLost }

// Limits of the fields.
const (
	MaxTitle        = 150
	MaxDescription  = 5000
	MaxCPV          = 10
	MaxQuestions    = 5
	MaxQuestion     = 300
	MaxAnswer       = 1000
	MaxMessage      = 2000
	MaxReason       = 1000
	MaxConversation = 5000
)

// Request is a large account's purchase request.
type Request struct {
	ID           int64
	OrgID        int64
	OrgName      string
	OrgKind      string
	Title        string
	Description  string
	CPVCodes     []string
	BudgetBand   string
	Deadline     time.Time
	Places       []string
	Innovative   bool
	Visibility   string
	Questions    []string
	Anonymous    bool
	Status       Status
	StatusReason string
	Outcome      *string
	FollowUp     *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SubmittedAt  *time.Time
	PublishedAt  *time.Time
	// Terms the buyer states, shown to SMEs: the payment delay it commits
	// to (days) and the minimum yearly turnover it requires (€ HT).
	PaymentDays *int
	MinTurnover *int64
	OrgNAF      string // the buyer's activity: a public hospital's payment terms differ
}

// Named errors.
var (
	ErrNotFound     = errors.New("purchase: not found")
	ErrForbidden    = errors.New("purchase: forbidden")
	ErrInvalidState = errors.New("purchase: not possible in the current state")
	ErrClosed       = errors.New("purchase: the request takes no more answers")
	ErrLinkInvalid  = errors.New("purchase: link invalid or expired")
)

// ValidationError holds field errors (catalogue ids).
type ValidationError = validate.Error

// Input is what a buyer types.
type Input struct {
	Title        string
	Description  string
	CPVCodes     []string
	BudgetBand   string
	Deadline     string // YYYY-MM-DD
	Regions      []string
	Departements []string
	Innovative   bool
	Visibility   string
	Questions    []string
	Anonymous    bool
	PaymentDays  string // days, as typed; empty: not said
	MinTurnover  string // € HT, as typed; empty: none required
}

// Normalize cleans the input: codes trimmed, check digits dropped,
// duplicates and empty questions removed.
func (in *Input) Normalize() {
	in.Title = validate.Line(in.Title)
	in.Description = validate.Clean(in.Description)
	in.BudgetBand = validate.Clean(in.BudgetBand)
	in.Deadline = validate.Clean(in.Deadline)
	in.Visibility = validate.Clean(in.Visibility)
	in.PaymentDays = validate.Clean(in.PaymentDays)
	in.MinTurnover = validate.Clean(in.MinTurnover)
	in.CPVCodes = validate.CPVCodes(in.CPVCodes)
	var qs []string
	for _, q := range in.Questions {
		if q = validate.Line(q); q != "" {
			qs = append(qs, q)
		}
	}
	in.Questions = qs
	in.Regions = validate.Distinct(in.Regions)
	in.Departements = validate.Distinct(in.Departements)
}

// Validate returns the field errors (catalogue ids); today is the buyer's
// date, publicBuyer whether its organisation may use "achat innovant".
func (in Input) Validate(tax *taxonomy.Taxonomy, today time.Time, publicBuyer bool) validate.Errors {
	e := validate.Errors{}
	e.Required("title", in.Title, MaxTitle)
	e.Required("description", in.Description, MaxDescription)
	validate.CPVErrors(e, in.CPVCodes, MaxCPV, func(c string) bool { _, ok := tax.CPV(c); return ok })
	if !slices.Contains(BudgetBands, in.BudgetBand) {
		e.Add("budget_band", "form.choose")
	}
	if in.Deadline == "" {
		e.Add("deadline", "form.required")
	} else if d, err := time.Parse(time.DateOnly, in.Deadline); err != nil {
		e.Add("deadline", "request.deadline_invalid")
	} else if !d.After(day(today)) {
		e.Add("deadline", "request.deadline_past")
	} else if d.After(day(today).AddDate(2, 0, 0)) {
		e.Add("deadline", "request.deadline_far")
	}
	_, badReg, badDep := tax.Places(in.Regions, in.Departements)
	validate.PlaceErrors(e, badReg, badDep)
	if len(in.Regions)+len(in.Departements) == 0 {
		e.Add("regions", "offer.places_required")
	}
	if !slices.Contains(Visibilities, in.Visibility) {
		e.Add("visibility", "form.choose")
	}
	if len(in.Questions) > MaxQuestions {
		e.Add("questions", "request.questions_too_many")
	}
	for _, q := range in.Questions {
		e.MaxLen("questions", q, MaxQuestion)
	}
	if _, ok := in.Terms(); !ok.days {
		e.Add("payment_days", "request.payment_days_invalid")
	}
	if _, ok := in.Terms(); !ok.turnover {
		e.Add("min_turnover", "form.number_invalid")
	}
	if in.Innovative {
		switch {
		case !publicBuyer:
			e.Add("innovative", "request.innovative_public_only")
		case in.BudgetBand != "" && !slices.Contains(InnovativeBands, in.BudgetBand):
			e.Add("innovative", "request.innovative_budget")
		}
	}
	return e
}

// Terms are the request's stated terms, as stored: nil when not said.
type Terms struct {
	PaymentDays *int
	MinTurnover *int64
}

// termsOK says which typed terms read well.
type termsOK struct{ days, turnover bool }

// Terms reads the typed terms: a payment delay of 1 to 365 days, a
// turnover of whole euros above 0; empty is "not said".
func (in Input) Terms() (Terms, termsOK) {
	var t Terms
	ok := termsOK{true, true}
	if n, empty, good := validate.Whole(in.PaymentDays); !empty {
		if ok.days = good && n >= 1 && n <= 365; ok.days {
			d := int(n)
			t.PaymentDays = &d
		}
	}
	if n, empty, good := validate.Whole(in.MinTurnover); !empty {
		if ok.turnover = good && n > 0 && n < 1e15; ok.turnover {
			t.MinTurnover = &n
		}
	}
	return t, ok
}

// Places returns the places as stored.
func (in Input) Places(tax *taxonomy.Taxonomy) []string {
	places, _, _ := tax.Places(in.Regions, in.Departements)
	return places
}

// InputOf turns a stored request back into the form's input.
func InputOf(r Request) Input {
	in := Input{Title: r.Title, Description: r.Description, CPVCodes: slices.Clone(r.CPVCodes), BudgetBand: r.BudgetBand,
		Deadline: r.Deadline.Format(time.DateOnly), Innovative: r.Innovative, Visibility: r.Visibility,
		Questions: slices.Clone(r.Questions), Anonymous: r.Anonymous}
	in.Regions, in.Departements = taxonomy.SplitPlaces(r.Places)
	if r.PaymentDays != nil {
		in.PaymentDays = strconv.Itoa(*r.PaymentDays)
	}
	if r.MinTurnover != nil {
		in.MinTurnover = strconv.FormatInt(*r.MinTurnover, 10)
	}
	return in
}

// paris is where the deadlines are: a request due on the 12th takes
// answers until the end of the 12th in France.
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// day is t's date in France, at midnight UTC (how pgx reads a date).
func day(t time.Time) time.Time {
	y, m, d := t.In(paris).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Facets are the search facet keys of a request: its CPV prefixes down to
// the group, its places with their regions and départements, its budget.
func Facets(tax *taxonomy.Taxonomy, cpv, places []string, band string) []string {
	var f []string
	add := func(k string) {
		if !slices.Contains(f, k) {
			f = append(f, k)
		}
	}
	for _, c := range cpv {
		for _, p := range taxonomy.CPVPrefixes(c) {
			if len(p) <= 3 {
				add("cpv:" + p)
			}
		}
	}
	for _, k := range tax.PlaceKeys(places) {
		add(k)
	}
	add("budget:" + band)
	return f
}

// Interest is what an SME sends when it says it is interested.
type Interest struct {
	Message string
	Answers []string // one per question of the request, in order
	OfferID string   // "" or one of its published offers
}

// Validate checks the interest against the request's questions.
func (in *Interest) Validate(questions []string) validate.Errors {
	in.Message = validate.Clean(in.Message)
	in.OfferID = validate.Clean(in.OfferID)
	e := validate.Errors{}
	e.Required("message", in.Message, MaxMessage)
	answers := make([]string, len(questions))
	for i := range questions {
		if i < len(in.Answers) {
			answers[i] = validate.Clean(in.Answers[i])
		}
		e.Required("answer"+strconv.Itoa(i), answers[i], MaxAnswer)
	}
	in.Answers = answers
	if in.OfferID != "" {
		if n, err := strconv.ParseInt(in.OfferID, 10, 64); err != nil || n <= 0 {
			e.Add("offer", "form.choose")
		}
	}
	return e
}

// Decline is an SME's "not interested", with its reason.
type Decline struct {
	Reason string
	Text   string
}

// Validate checks the reason is one of the list; "other" needs a text.
func (d *Decline) Validate() validate.Errors {
	d.Reason = validate.Clean(d.Reason)
	d.Text = validate.Clean(d.Text)
	e := validate.Errors{}
	if !slices.Contains(NotInterestedReasons, d.Reason) {
		e.Add("reason", "form.choose")
	}
	if d.Reason == "other" && d.Text == "" {
		e.Add("text", "request.reason_other_text")
	}
	e.MaxLen("text", d.Text, MaxReason)
	return e
}

// MailKinds are the mails this package writes ("mail.<kind>.subject" and
// ".body"); moderation writes request_published and request_sent_back.
var MailKinds = []string{"request_announced", "request_reminder", "request_digest", "request_follow_up", "interest_received",
	"answer_discussion", "answer_declined", "answer_won", "answer_lost", "message_received"}
