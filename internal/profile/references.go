package profile

import (
	"context"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/validate"
)

// NewReference is a past contract to store as an SME's reference.
type NewReference struct {
	OrgID       int64
	Client      string // the buyer's name (clipped to 200 characters; "—" when empty)
	ClientSIRET string
	Object      string // clipped to 1000 characters; "—" when empty
	CPV         string // 8 digits
	AmountEUR   int64  // € HT; 0 when unknown
	Year        int    // 0 when unknown
	Departement string
	// SourceUID is the public contract's uid (buyer SIRET + id) for a
	// reference from the DECP register: one SME holds each once. Empty for
	// a reference the SME typed.
	SourceUID string
}

// AddReferences is the one writer of references: what an SME types, what
// it imports from the DECP register, what the importer and the demo load.
// It writes them in one statement inside the caller's transaction, adds a
// public contract an SME already holds no second time, and returns how many
// it added. The caller refreshes the SMEs' directory entries.
func AddReferences(ctx context.Context, tx pgx.Tx, refs []NewReference) (int, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	n := len(refs)
	orgs, clients, sirets, objects, cpvs := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	amounts, years := make([]*int64, n), make([]*int32, n)
	deps, sources, uids := make([]string, n), make([]string, n), make([]string, n)
	for i, r := range refs {
		orgs[i], sirets[i], cpvs[i], deps[i], uids[i] = r.OrgID, r.ClientSIRET, r.CPV, r.Departement, r.SourceUID
		clients[i] = orDash(validate.Clip(validate.Line(r.Client), 200))
		objects[i] = orDash(validate.Clip(r.Object, 1000))
		if r.AmountEUR > 0 {
			amounts[i] = &r.AmountEUR
		}
		if r.Year > 0 {
			y := int32(r.Year)
			years[i] = &y
		}
		sources[i] = "manual"
		if r.SourceUID != "" {
			sources[i] = "decp"
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO org_references (organisation_id, client, client_siret, object, cpv_code, amount_eur, year,
			departement, source, source_uid)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[], $8::text[], $9::text[],
			$10::text[])
		ON CONFLICT DO NOTHING`, orgs, clients, sirets, objects, cpvs, amounts, years, deps, sources, uids)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
