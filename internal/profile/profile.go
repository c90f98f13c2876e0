// Package profile is about what an SME shows of itself: description,
// website, places served, certifications and labels with their expiry, and
// references (past contracts), which can be imported by SIREN from the
// public contracts of the DECP register (internal/registers). Rules and
// permission checks live here.
package profile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/validate"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// Named errors.
var (
	ErrNotFound  = errors.New("profile: not found")
	ErrForbidden = errors.New("profile: forbidden")
)

// ValidationError holds field errors (catalogue ids).
type ValidationError = validate.Error

// Certification is a certification or label an SME holds.
type Certification struct {
	ID        int64
	Name      string
	Issuer    string
	ExpiresOn *time.Time
}

// Expired reports whether the certification had expired on day now.
func (c Certification) Expired(now time.Time) bool {
	return c.ExpiresOn != nil && c.ExpiresOn.Before(now.Truncate(24*time.Hour))
}

// Reference is a past contract an SME shows.
type Reference struct {
	ID          int64
	Client      string
	Object      string
	CPV         string
	AmountEUR   *int64
	Year        *int32
	Departement string
	Source      string // manual or decp
}

// Profile is an SME as members see it.
type Profile struct {
	member.Organisation
	Places         []string
	Certifications []Certification
	References     []Reference
}

// Service holds the profiles' rules.
type Service struct {
	db    *pgxpool.Pool
	tax   *taxonomy.Taxonomy
	index *search.Indexer
	now   func() time.Time
}

// NewService builds the service.
func NewService(db *pgxpool.Pool, tax *taxonomy.Taxonomy, index *search.Indexer) *Service {
	return &Service{db: db, tax: tax, index: index, now: time.Now}
}

// Award is a public contract won by the SME, and whether it is already one
// of its references.
type Award struct {
	UID         string // the buyer's SIRET and the contract's id
	BuyerSIRET  string
	Buyer       string
	Object      string
	CPV         string
	AmountEUR   int64
	Year        int // 0: unknown
	Departement string
	Damaged     bool // accents broken upstream (U+FFFD)
	Imported    bool
	Proposed    bool // newly found by the daily job, not answered yet
}

// Get returns the profile of organisation id. Members and staff read the
// profiles of member SMEs; an organisation always reads its own.
func (s *Service) Get(ctx context.Context, actor member.Actor, id int64) (Profile, error) {
	if !actor.SignedIn() {
		return Profile{}, ErrForbidden
	}
	var p Profile
	err := s.db.QueryRow(ctx, `SELECT id, siren, legal_name, kind, naf_code, headcount_band, departement, website, description,
			status, status_reason, created_at, decided_at, places
		FROM organisations WHERE id = $1 AND (id = $2 OR (status = 'member' AND kind IN ('pme', 'eti')))`, id, actor.OrgID).
		Scan(&p.ID, &p.SIREN, &p.LegalName, &p.Kind, &p.NAFCode, &p.HeadcountBand, &p.Departement, &p.Website, &p.Description,
			&p.Status, &p.StatusReason, &p.CreatedAt, &p.DecidedAt, &p.Places)
	if errors.Is(err, pgx.ErrNoRows) {
		return Profile{}, ErrNotFound
	}
	if err != nil {
		return Profile{}, fmt.Errorf("profile: get %d: %w", id, err)
	}
	rows, err := s.db.Query(ctx, `SELECT id, name, issuer, expires_on FROM certifications WHERE organisation_id = $1
		ORDER BY expires_on DESC NULLS FIRST, id`, id)
	if err == nil {
		p.Certifications, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Certification])
	}
	if err != nil {
		return Profile{}, fmt.Errorf("profile: certifications %d: %w", id, err)
	}
	rows, err = s.db.Query(ctx, `SELECT id, client, object, cpv_code, amount_eur, year, departement, source FROM org_references
		WHERE organisation_id = $1 ORDER BY year DESC NULLS LAST, id DESC`, id)
	if err == nil {
		p.References, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Reference])
	}
	if err != nil {
		return Profile{}, fmt.Errorf("profile: references %d: %w", id, err)
	}
	return p, nil
}

// mayEdit: any user of the SME edits its profile; nobody else does.
func mayEdit(actor member.Actor) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	return nil
}

// write runs fn in a transaction and refreshes the SME's search entry.
func (s *Service) write(ctx context.Context, actor member.Actor, op string, fn func(tx pgx.Tx) error) error {
	if err := mayEdit(actor); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.index.Refresh(ctx, tx, actor.OrgID)
	})
	var v *ValidationError
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.As(err, &v) {
		return fmt.Errorf("profile: %s: %w", op, err)
	}
	return err
}

// Input is the editable part of a profile.
type Input struct {
	Description  string
	Website      string
	Regions      []string
	Departements []string
}

// Update saves the description, website and places served.
func (s *Service) Update(ctx context.Context, actor member.Actor, in Input) error {
	in.Description, in.Website = validate.Clean(in.Description), validate.Clean(in.Website)
	e := validate.Errors{}
	e.MaxLen("description", in.Description, 2000)
	e.URL("website", in.Website)
	places, badReg, badDep := s.tax.Places(in.Regions, in.Departements)
	validate.PlaceErrors(e, badReg, badDep)
	if e.Any() {
		return &ValidationError{Fields: e}
	}
	return s.write(ctx, actor, "update", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE organisations SET description = $2, website = $3, places = $4 WHERE id = $1`,
			actor.OrgID, in.Description, in.Website, places)
		return err
	})
}

// CertificationInput is a certification as typed; ExpiresOn is YYYY-MM-DD or empty.
type CertificationInput struct{ Name, Issuer, ExpiresOn string }

// AddCertification records a certification or label.
func (s *Service) AddCertification(ctx context.Context, actor member.Actor, in CertificationInput) error {
	in.Name, in.Issuer, in.ExpiresOn = validate.Line(in.Name), validate.Line(in.Issuer), validate.Clean(in.ExpiresOn)
	e := validate.Errors{}
	e.Required("cert_name", in.Name, 120)
	e.MaxLen("cert_issuer", in.Issuer, 120)
	var expires any
	if in.ExpiresOn != "" {
		d, err := time.Parse("2006-01-02", in.ExpiresOn)
		if err != nil || d.Year() < 1990 || d.Year() > 2100 {
			e.Add("cert_expires", "form.date_invalid")
		}
		expires = d
	}
	if e.Any() {
		return &ValidationError{Fields: e}
	}
	return s.write(ctx, actor, "add certification", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO certifications (organisation_id, name, issuer, expires_on) VALUES ($1, $2, $3, $4)`,
			actor.OrgID, in.Name, in.Issuer, expires)
		return err
	})
}

// DeleteCertification removes one of the SME's certifications.
func (s *Service) DeleteCertification(ctx context.Context, actor member.Actor, id int64) error {
	return s.write(ctx, actor, "delete certification", func(tx pgx.Tx) error {
		return one(tx.Exec(ctx, `DELETE FROM certifications WHERE id = $1 AND organisation_id = $2`, id, actor.OrgID))
	})
}

// ReferenceInput is a reference as typed.
type ReferenceInput struct{ Client, Object, CPV, Amount, Year string }

// AddReference records a past contract typed by hand.
func (s *Service) AddReference(ctx context.Context, actor member.Actor, in ReferenceInput) error {
	in.Client, in.Object = validate.Line(in.Client), validate.Clean(in.Object)
	in.CPV, _, _ = strings.Cut(validate.Clean(in.CPV), "-")
	e := validate.Errors{}
	e.Required("ref_client", in.Client, 200)
	e.Required("ref_object", in.Object, 1000)
	if _, ok := s.tax.CPV(in.CPV); !ok {
		e.Add("ref_cpv", "offer.cpv_unknown")
	}
	ref := NewReference{OrgID: actor.OrgID, Client: in.Client, Object: in.Object, CPV: in.CPV}
	if n, empty, ok := validate.Whole(in.Amount); !empty {
		if !ok || n < 0 {
			e.Add("ref_amount", "form.number_invalid")
		}
		ref.AmountEUR = n
	}
	if y := strings.TrimSpace(in.Year); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1990 || n > s.now().Year() {
			e.Add("ref_year", "form.year_invalid")
		}
		ref.Year = n
	}
	if e.Any() {
		return &ValidationError{Fields: e}
	}
	return s.write(ctx, actor, "add reference", func(tx pgx.Tx) error {
		_, err := AddReferences(ctx, tx, []NewReference{ref})
		return err
	})
}

// DeleteReference removes one of the SME's references.
func (s *Service) DeleteReference(ctx context.Context, actor member.Actor, id int64) error {
	return s.write(ctx, actor, "delete reference", func(tx pgx.Tx) error {
		return one(tx.Exec(ctx, `DELETE FROM org_references WHERE id = $1 AND organisation_id = $2`, id, actor.OrgID))
	})
}

// Awards lists the public contracts of the DECP register won by the
// actor's SIREN (any of its establishments), newest first, marking those
// already imported. A buyer the DECP does not name (its 2024 schema gives
// only its SIRET) is named as the SIRENE register names it.
func (s *Service) Awards(ctx context.Context, actor member.Actor) ([]Award, error) {
	if err := mayEdit(actor); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT c.buyer_id || c.id, c.buyer_id,
			coalesce(nullif(c.buyer_name, ''), (SELECT u.name FROM sirene_units u WHERE u.siren = left(c.buyer_id, 9) AND NOT u.individual), ''),
			c.object, c.cpv_code, coalesce(round(c.amount_eur), 0)::bigint, coalesce(extract(year FROM c.notified_on), 0)::int,
			c.departement, c.damaged,
			EXISTS (SELECT 1 FROM org_references r WHERE r.organisation_id = o.id AND r.source = 'decp' AND r.source_uid = c.buyer_id || c.id),
			EXISTS (SELECT 1 FROM contract_proposals p WHERE p.organisation_id = o.id AND p.buyer_id = c.buyer_id AND p.id = c.id AND p.dismissed_at IS NULL)
		FROM organisations o JOIN decp_contracts c ON (c.buyer_id, c.id) IN (SELECT w.buyer_id, w.id FROM decp_winners w WHERE w.siren = o.siren)
		WHERE o.id = $1
		ORDER BY c.notified_on DESC NULLS LAST, c.buyer_id, c.id`, actor.OrgID)
	if err != nil {
		return nil, fmt.Errorf("profile: awards: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Award, error) {
		var a Award
		err := r.Scan(&a.UID, &a.BuyerSIRET, &a.Buyer, &a.Object, &a.CPV, &a.AmountEUR, &a.Year, &a.Departement, &a.Damaged, &a.Imported, &a.Proposed)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("profile: awards: %w", err)
	}
	return out, nil
}

// ImportAwards adds the chosen contracts (by uid) as references; uids not
// won by the SME are ignored, and importing twice adds nothing.
func (s *Service) ImportAwards(ctx context.Context, actor member.Actor, uids []string) (int, error) {
	found, err := s.Awards(ctx, actor)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.write(ctx, actor, "import awards", func(tx pgx.Tx) error {
		var refs []NewReference
		for _, a := range found {
			if !slices.Contains(uids, a.UID) || a.Imported {
				continue
			}
			if _, ok := s.tax.CPV(a.CPV); !ok {
				continue // a code not in CPV 2008 cannot be matched on
			}
			refs = append(refs, NewReference{OrgID: actor.OrgID, Client: a.Buyer, ClientSIRET: a.BuyerSIRET, Object: a.Object, CPV: a.CPV,
				AmountEUR: a.AmountEUR, Year: a.Year, Departement: a.Departement, SourceUID: a.UID})
		}
		var err error
		if n, err = AddReferences(ctx, tx, refs); err != nil {
			return err
		}
		// The SME answered the proposals: what it ticked became references,
		// the rest are not proposed again.
		_, err = tx.Exec(ctx, `UPDATE contract_proposals SET dismissed_at = now() WHERE organisation_id = $1 AND dismissed_at IS NULL`, actor.OrgID)
		return err
	})
	return n, err
}

// Proposals counts the public contracts newly found for the SME (by the
// registers' daily job) that it has not answered yet.
func (s *Service) Proposals(ctx context.Context, actor member.Actor) (int, error) {
	if err := mayEdit(actor); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM contract_proposals p WHERE p.organisation_id = $1 AND p.dismissed_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM org_references r WHERE r.organisation_id = p.organisation_id AND r.source = 'decp' AND r.source_uid = p.buyer_id || p.id)`,
		actor.OrgID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("profile: proposals: %w", err)
	}
	return n, nil
}

func one(tag interface{ RowsAffected() int64 }, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// orDash stands for a field the public data left empty.
