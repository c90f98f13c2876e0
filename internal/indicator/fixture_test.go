package indicator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
)

// party is a real organisation of the DECP data: a public buyer or a
// contract's winner.
type party struct{ SIREN, Name string }

// realParties reads the public buyers and the winners of the shipped
// award data, each once, with a valid SIREN.
var realParties = sync.OnceValues(func() (buyers, winners []party) {
	seenB, seenW := map[string]bool{}, map[string]bool{}
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["probleme_encodage"] != "0" {
			return nil
		}
		if s := r["acheteur_siret"]; len(s) == 14 && taxonomy.ValidSIREN(s[:9]) && !seenB[s[:9]] && r["acheteur_nom"] != "" {
			seenB[s[:9]] = true
			buyers = append(buyers, party{s[:9], r["acheteur_nom"]})
		}
		if s := r["titulaires_ids"]; r["titulaires_type_id"] == "SIRET" && len(s) >= 9 && taxonomy.ValidSIREN(s[:9]) && !seenW[s[:9]] &&
			r["titulaires_noms"] != "" {
			seenW[s[:9]] = true
			winners = append(winners, party{s[:9], r["titulaires_noms"]})
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return buyers, winners
})

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	pool   *pgxpool.Pool
	queue  jobs.Client
	svc    *Service
	clock  *clock
	staff  member.Actor
	buyers []member.Actor // users of member public buyers
	smes   []member.Actor // users of member PMEs
	seq    int
}

// setup makes a fresh database with staff, three public buyers and seven
// PMEs taken from the real award data, all members.
func setup(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	queue, err := jobs.InsertOnly(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pool: pool, queue: queue, clock: &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}}
	f.svc = NewService(pool, queue)
	f.svc.Now = f.clock.now
	buyers, winners := realParties()
	f.staff = f.org(t, party{"999000013", "Association (test)"}, member.KindAssociation, member.RoleStaff)
	for _, b := range buyers[:3] {
		f.buyers = append(f.buyers, f.org(t, b, member.KindPublic, member.RoleOwner))
	}
	for _, w := range winners[:7] {
		f.smes = append(f.smes, f.org(t, w, member.KindPME, member.RoleOwner))
	}
	return f
}

// org creates a member organisation with one user and returns the user.
func (f *fixture) org(t *testing.T, p party, kind member.Kind, role member.Role) member.Actor {
	t.Helper()
	f.seq++
	ctx := context.Background()
	a := member.Actor{Kind: kind, Role: role, OrgName: p.Name, Name: fmt.Sprintf("Utilisateur %d", f.seq)}
	if err := f.pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status, created_at)
		VALUES ($1, $2, $3, '62.01Z', '11', '69', 'member', $4) RETURNING id`, p.SIREN, p.Name, kind, f.clock.t.AddDate(-2, 0, 0)).Scan(&a.OrgID); err != nil {
		t.Fatal(err)
	}
	a.Email = fmt.Sprintf("user%d@test.passerelle", f.seq)
	if err := f.pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, mail_token)
		VALUES ($1, $2, $3, 'x', $4, $5) RETURNING id`, a.OrgID, a.Email, a.Name, role, fmt.Sprintf("tok%d", f.seq)).Scan(&a.UserID); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) siren(t *testing.T, a member.Actor) string {
	t.Helper()
	var s string
	if err := f.pool.QueryRow(context.Background(), `SELECT siren FROM organisations WHERE id = $1`, a.OrgID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// declare is a buyer's declaration that must succeed.
func (f *fixture) declare(t *testing.T, a member.Actor, in Input) int {
	t.Helper()
	v, err := f.svc.Declare(context.Background(), a, a.OrgID, in)
	if err != nil {
		t.Fatalf("declare %+v: %v", in, err)
	}
	return v
}
