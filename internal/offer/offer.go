// Package offer is about SMEs' innovation offers: writing them, submitting
// them for review, staff review (approve or send back with a reason),
// publishing and archiving. Every rule and permission check lives here.
package offer

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
)

// Status is where an offer stands: draft → submitted → published →
// archived, or rejected (sent back with a reason, to edit and resubmit).
type Status string

// The statuses.
const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusPublished Status = "published"
	StatusArchived  Status = "archived"
	StatusRejected  Status = "rejected"
)

// Statuses are every status of an offer.
var Statuses = []Status{StatusDraft, StatusSubmitted, StatusPublished, StatusArchived, StatusRejected}

// Kinds of offers.
var Kinds = []string{"product", "service", "technology", "rd_partnership"}

// Limits of the fields.
const (
	MaxTitle       = 150
	MaxSummary     = 300
	MaxDescription = 5000
	MaxKeywords    = 300
	MaxCPV         = 10
)

// Offer is an innovation offer of an SME.
type Offer struct {
	ID           int64
	OrgID        int64
	OrgName      string
	Title        string
	Summary      string
	Description  string
	Kind         string
	CPVCodes     []string
	TRL          *int16
	Places       []string // "dep:75", "reg:84"
	Keywords     string
	Status       Status
	StatusReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SubmittedAt  *time.Time
	PublishedAt  *time.Time
}

// Named errors.
var (
	ErrNotFound     = errors.New("offer: not found")
	ErrForbidden    = errors.New("offer: forbidden")
	ErrInvalidState = errors.New("offer: not possible in the current status")
)

// ValidationError holds field errors (catalogue ids).
type ValidationError = validate.Error

// Input is what an SME types.
type Input struct {
	Title        string
	Summary      string
	Description  string
	Kind         string
	CPVCodes     []string
	TRL          string // "" or 1–9
	Regions      []string
	Departements []string
	Keywords     string
}

// Normalize cleans the input: codes trimmed, check digits dropped,
// duplicates removed, keywords separated by commas.
func (in *Input) Normalize() {
	in.Title = validate.Line(in.Title)
	in.Summary = validate.Clean(in.Summary)
	in.Description = validate.Clean(in.Description)
	in.Kind = validate.Clean(in.Kind)
	in.TRL = validate.Clean(in.TRL)
	in.CPVCodes = validate.CPVCodes(in.CPVCodes)
	var kw []string
	for _, k := range strings.Split(in.Keywords, ",") {
		if k = validate.Clean(k); k != "" {
			kw = append(kw, k)
		}
	}
	in.Keywords = strings.Join(kw, ", ")
	in.Regions = validate.Distinct(in.Regions)
	in.Departements = validate.Distinct(in.Departements)
}

// Validate returns the field errors (catalogue ids).
func (in Input) Validate(tax *taxonomy.Taxonomy) validate.Errors {
	e := validate.Errors{}
	e.Required("title", in.Title, MaxTitle)
	e.Required("summary", in.Summary, MaxSummary)
	e.MaxLen("description", in.Description, MaxDescription)
	if !slices.Contains(Kinds, in.Kind) {
		e.Add("kind", "form.choose")
	}
	validate.CPVErrors(e, in.CPVCodes, MaxCPV, func(c string) bool { _, ok := tax.CPV(c); return ok })
	if in.TRL != "" {
		if n, err := strconv.Atoi(in.TRL); err != nil || n < 1 || n > 9 {
			e.Add("trl", "form.choose")
		}
	}
	_, badReg, badDep := tax.Places(in.Regions, in.Departements)
	validate.PlaceErrors(e, badReg, badDep)
	if len(in.Regions)+len(in.Departements) == 0 {
		e.Add("regions", "offer.places_required")
	}
	e.MaxLen("keywords", in.Keywords, MaxKeywords)
	return e
}

// Places returns the places served as stored.
func (in Input) Places(tax *taxonomy.Taxonomy) []string {
	places, _, _ := tax.Places(in.Regions, in.Departements)
	return places
}

// InputOf turns a stored offer back into the form's input.
func InputOf(o Offer) Input {
	in := Input{Title: o.Title, Summary: o.Summary, Description: o.Description, Kind: o.Kind,
		CPVCodes: slices.Clone(o.CPVCodes), Keywords: o.Keywords}
	if o.TRL != nil {
		in.TRL = strconv.Itoa(int(*o.TRL))
	}
	in.Regions, in.Departements = taxonomy.SplitPlaces(o.Places)
	return in
}
