package member_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

// Real SIRENs from the SIRENE extract shipped with the project.
const (
	sirenA = "007050065" // 00705006500015, terrassement, 04
	sirenB = "007350200"
	sirenC = "015650955"
)

func newService(t *testing.T) (*member.Service, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t)
	queue, err := jobs.InsertOnly(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return member.NewService(pool, tax, notify.New(pool, mail.NewOutbox(queue), i18n.MustLoad(), "http://passerelle.test")), pool
}

func application(siren, email string) member.Application {
	return member.Application{
		SIREN: siren, LegalName: "Terrassements des Alpes", Kind: "pme", NAFCode: "43.12A", HeadcountBand: "11",
		Departement: "04", Name: "Jeanne Martin", Email: email, Password: "une phrase de passe solide",
	}
}

func staffActor(t *testing.T, pool *pgxpool.Pool) member.Actor {
	t.Helper()
	var orgID, userID int64
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('999000002', 'Association', 'association', '94.99Z', '03', '75', 'member') RETURNING id`).Scan(&orgID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role)
		VALUES ($1, 'staff@passerelle.test', 'Sam Staff', 'x', 'staff') RETURNING id`, orgID).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	return member.Actor{UserID: userID, OrgID: orgID, Name: "Sam Staff", Role: member.RoleStaff, Kind: member.KindAssociation}
}

func fieldErrs(err error) map[string]string {
	var v *member.ValidationError
	if errors.As(err, &v) {
		return v.Fields
	}
	return nil
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestApplyValidation(t *testing.T) {
	svc, pool := newService(t)
	long := strings.Repeat("é", 10_000)
	tests := []struct {
		name   string
		change func(*member.Application)
		field  string
		msg    string
	}{
		{"empty SIREN", func(a *member.Application) { a.SIREN = "" }, "siren", "form.required"},
		{"short SIREN", func(a *member.Application) { a.SIREN = "12345" }, "siren", "member.siren_format"},
		{"wrong checksum", func(a *member.Application) { a.SIREN = "007050066" }, "siren", "member.siren_checksum"},
		{"letters in SIREN", func(a *member.Application) { a.SIREN = "00705006A" }, "siren", "member.siren_format"},
		{"unknown NAF", func(a *member.Application) { a.NAFCode = "99.99Z" }, "naf_code", "form.choose"},
		{"NAF class, not sub-class", func(a *member.Application) { a.NAFCode = "43.12" }, "naf_code", "form.choose"},
		{"kind not offered", func(a *member.Application) { a.Kind = "association" }, "kind", "form.choose"},
		{"unknown département", func(a *member.Application) { a.Departement = "20" }, "departement", "form.choose"},
		{"10 kB name", func(a *member.Application) { a.LegalName = long }, "legal_name", "form.too_long"},
		{"10 kB description", func(a *member.Application) { a.Description = long }, "description", "form.too_long"},
		{"malformed e-mail", func(a *member.Application) { a.Email = "jeanne@" }, "email", "form.email_invalid"},
		{"e-mail with a name", func(a *member.Application) { a.Email = "Jeanne <j@x.fr>" }, "email", "form.email_invalid"},
		{"short password", func(a *member.Application) { a.Password = "court" }, "password", "form.password_short"},
		{"javascript website", func(a *member.Application) { a.Website = "javascript:alert(1)" }, "website", "form.url_invalid"},
		{"blank name", func(a *member.Application) { a.Name = "   " }, "name", "form.required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := application(sirenA, "jeanne@terrassements.fr")
			tt.change(&a)
			_, err := svc.Apply(context.Background(), a)
			if got := fieldErrs(err)[tt.field]; got != tt.msg {
				t.Errorf("error on %s = %q, want %q (err %v)", tt.field, got, tt.msg, err)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM organisations`) + count(t, pool, `SELECT count(*) FROM users`); n != 0 {
		t.Errorf("invalid applications stored %d rows", n)
	}
}

func TestApplyStoresHTMLAndSQLVerbatim(t *testing.T) {
	svc, pool := newService(t)
	a := application(" 007 050 065 ", "Jeanne@Terrassements.FR")
	a.LegalName = `<script>alert("x")</script>'; DROP TABLE users; --`
	a.Description = "Robert'); DROP TABLE organisations;--"
	id, err := svc.Apply(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	var name, siren, email string
	if err := pool.QueryRow(context.Background(), `SELECT o.legal_name, o.siren, u.email FROM organisations o
		JOIN users u ON u.organisation_id = o.id WHERE o.id = $1`, id).Scan(&name, &siren, &email); err != nil {
		t.Fatal(err)
	}
	if name != a.LegalName || siren != "007050065" || email != "jeanne@terrassements.fr" {
		t.Errorf("stored %q %q %q", name, siren, email)
	}
	if n := count(t, pool, `SELECT count(*) FROM emails WHERE to_addr = 'jeanne@terrassements.fr' AND kind = 'application_received'`); n != 1 {
		t.Errorf("%d confirmation mails", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM river_job WHERE kind = 'send_email'`); n != 1 {
		t.Errorf("%d delivery jobs", n)
	}
}

func TestApplyDuplicatesAndAtomicity(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	if _, err := svc.Apply(ctx, application(sirenA, "a@exemple.fr")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, application(sirenA, "b@exemple.fr")); !errors.Is(err, member.ErrSIRENTaken) {
		t.Errorf("same SIREN again: %v, want ErrSIRENTaken", err)
	}
	// Another SIREN with a taken e-mail: the organisation insert must be rolled back.
	if _, err := svc.Apply(ctx, application(sirenB, "A@exemple.fr")); !errors.Is(err, member.ErrEmailTaken) {
		t.Errorf("same e-mail again: %v, want ErrEmailTaken", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM organisations WHERE siren = $1`, sirenB); n != 0 {
		t.Errorf("half-saved application: %d organisation rows for %s", n, sirenB)
	}
	if n := count(t, pool, `SELECT count(*) FROM emails`); n != 1 {
		t.Errorf("%d mails, want only the first application's", n)
	}
}

func TestModerationAndSignIn(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	pw := "une phrase de passe solide"

	idA, _ := svc.Apply(ctx, application(sirenA, "a@exemple.fr"))
	idB, _ := svc.Apply(ctx, application(sirenB, "b@exemple.fr"))

	// Before any decision: pending.
	if _, err := svc.Authenticate(ctx, "a@exemple.fr", pw); !errors.Is(err, member.ErrPending) {
		t.Errorf("pending sign-in: %v", err)
	}
	// Only staff decide; a reason is required to reject.
	applicant := member.Actor{UserID: 1, OrgID: idA, Role: member.RoleOwner, Kind: member.KindPME}
	if err := svc.Decide(ctx, applicant, idA, member.Approve, ""); !errors.Is(err, member.ErrForbidden) {
		t.Errorf("applicant approving itself: %v", err)
	}
	if _, _, err := svc.Applications(ctx, applicant, 1); !errors.Is(err, member.ErrForbidden) {
		t.Errorf("applicant reading the queue: %v", err)
	}
	if err := svc.Decide(ctx, staff, idB, member.Reject, "  "); fieldErrs(err)["reason"] != "form.required" {
		t.Errorf("reject without reason: %v", err)
	}
	if err := svc.Decide(ctx, staff, idA, member.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.Decide(ctx, staff, idA, member.Approve, ""); !errors.Is(err, member.ErrInvalidState) {
		t.Errorf("approving twice: %v", err)
	}
	if err := svc.Decide(ctx, staff, 424242, member.Approve, ""); !errors.Is(err, member.ErrNotFound) {
		t.Errorf("unknown organisation: %v", err)
	}
	if err := svc.Decide(ctx, staff, idB, member.Reject, "Activité hors du périmètre de l'association"); err != nil {
		t.Fatal(err)
	}

	// Approved: signs in; wrong password and unknown e-mail are the same error.
	a, err := svc.Authenticate(ctx, " A@exemple.fr ", pw)
	if err != nil || a.OrgID != idA || !a.IsSME() {
		t.Fatalf("approved sign-in: %+v %v", a, err)
	}
	for _, c := range [][2]string{{"a@exemple.fr", "mauvais mot de passe"}, {"inconnu@exemple.fr", pw}} {
		if _, err := svc.Authenticate(ctx, c[0], c[1]); !errors.Is(err, member.ErrInvalidCredentials) {
			t.Errorf("sign-in %s: %v", c[0], err)
		}
	}
	// Rejected: cannot sign in, and reads the reason.
	var rej *member.RejectedError
	if _, err := svc.Authenticate(ctx, "b@exemple.fr", pw); !errors.As(err, &rej) || !strings.Contains(rej.Reason, "périmètre") {
		t.Errorf("rejected sign-in: %v", err)
	}
	// A rejected company may apply again.
	if _, err := svc.Apply(ctx, application(sirenB, "b2@exemple.fr")); err != nil {
		t.Errorf("re-application after rejection: %v", err)
	}

	// Suspended: cannot sign in, and an existing session's actor is refused.
	if err := svc.Decide(ctx, staff, idA, member.Suspend, "Impayés de cotisation"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "a@exemple.fr", pw); !errors.Is(err, member.ErrSuspended) {
		t.Errorf("suspended sign-in: %v", err)
	}
	if _, err := svc.ActorByID(ctx, a.UserID); !errors.Is(err, member.ErrSuspended) {
		t.Errorf("suspended session: %v", err)
	}
	if err := svc.Decide(ctx, staff, idA, member.Reinstate, "Cotisation réglée"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "a@exemple.fr", pw); err != nil {
		t.Errorf("reinstated sign-in: %v", err)
	}

	// Every decision is in the audit log, with who and why.
	entries, total, err := audit.NewLog(pool).List(ctx, staff, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	// 3 applications + approve + reject + suspend + reinstate
	if total != 7 || len(entries) != 7 {
		t.Errorf("audit has %d entries, want 7", total)
	}
	rejected, _, _ := audit.NewLog(pool).List(ctx, staff, audit.Filter{Action: "application.rejected"})
	if len(rejected) != 1 || !strings.Contains(rejected[0].ActorLabel, "Sam Staff") || !strings.Contains(rejected[0].Reason, "périmètre") {
		t.Errorf("rejection entry: %+v", rejected)
	}
	if _, _, err := audit.NewLog(pool).List(ctx, applicant, audit.Filter{}); !errors.Is(err, audit.ErrForbidden) {
		t.Errorf("member reading the audit log: %v", err)
	}
	// Each decision mailed the organisation's users.
	if n := count(t, pool, `SELECT count(*) FROM emails WHERE to_addr = 'b@exemple.fr' AND body LIKE '%périmètre%'`); n != 1 {
		t.Errorf("rejection mail with its reason: %d", n)
	}
}

var tokenRE = regexp.MustCompile(`jeton=([A-Za-z0-9_-]+)`)

func lastToken(t *testing.T, pool *pgxpool.Pool, to string) string {
	t.Helper()
	var body string
	if err := pool.QueryRow(context.Background(), `SELECT body FROM emails WHERE to_addr = $1 ORDER BY id DESC LIMIT 1`, to).Scan(&body); err != nil {
		t.Fatal(err)
	}
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link in mail: %s", body)
	}
	return m[1]
}

func TestPasswordResetTokens(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	id, _ := svc.Apply(ctx, application(sirenC, "c@exemple.fr"))
	if err := svc.Decide(ctx, staff, id, member.Approve, ""); err != nil {
		t.Fatal(err)
	}

	// Unknown addresses get the same answer and no mail.
	if err := svc.RequestPasswordReset(ctx, "personne@exemple.fr"); err != nil {
		t.Errorf("unknown address: %v", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM emails WHERE to_addr = 'personne@exemple.fr'`); n != 0 {
		t.Error("a mail went to an unknown address")
	}

	if err := svc.RequestPasswordReset(ctx, "c@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	tok := lastToken(t, pool, "c@exemple.fr")
	// Staff do not read reset links on the mailbox page unless told to (development).
	mails, _, err := svc.Mailbox(ctx, staff, 1)
	if err != nil || len(mails) == 0 || mails[0].Kind != "password_reset" || !mails[0].Hidden || strings.Contains(mails[0].Body, tok) {
		t.Errorf("reset link shown on the mailbox page: %+v %v", mails, err)
	}
	svc.RevealSecrets = true
	if mails, _, _ = svc.Mailbox(ctx, staff, 1); mails[0].Hidden || !strings.Contains(mails[0].Body, tok) {
		t.Errorf("development mailbox hides the link")
	}
	if err := svc.ResetPassword(ctx, tok, "court"); fieldErrs(err)["password"] != "form.password_short" {
		t.Errorf("short new password: %v", err)
	}
	if err := svc.ResetPassword(ctx, tok, "un nouveau mot de passe"); err != nil {
		t.Fatal(err)
	}
	if err := svc.ResetPassword(ctx, tok, "encore un autre mot de passe"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("token reused: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "c@exemple.fr", "un nouveau mot de passe"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM one_time_tokens WHERE hash::text LIKE '%' || $1 || '%'`, tok); n != 0 {
		t.Error("the secret itself is stored")
	}

	// An expired link is refused.
	if err := svc.RequestPasswordReset(ctx, "c@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	tok = lastToken(t, pool, "c@exemple.fr")
	if _, err := pool.Exec(ctx, `UPDATE one_time_tokens SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckToken(ctx, "password_reset", tok); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("expired token checked: %v", err)
	}
	if err := svc.ResetPassword(ctx, tok, "un mot de passe expiré"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("expired token used: %v", err)
	}
}

func TestInvitationAndPersonalData(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	id, _ := svc.Apply(ctx, application(sirenA, "owner@exemple.fr"))
	if err := svc.Decide(ctx, staff, id, member.Approve, ""); err != nil {
		t.Fatal(err)
	}
	owner, err := svc.Authenticate(ctx, "owner@exemple.fr", "une phrase de passe solide")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Invite(ctx, owner, "owner@exemple.fr"); !errors.Is(err, member.ErrEmailTaken) {
		t.Errorf("inviting an existing user: %v", err)
	}
	if err := svc.Invite(ctx, owner, "collegue@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	tok := lastToken(t, pool, "collegue@exemple.fr")
	colleague, err := svc.AcceptInvitation(ctx, tok, "Louis Collègue", "une autre phrase solide", "fr")
	if err != nil || colleague.OrgID != id || colleague.Role != member.RoleMember {
		t.Fatalf("accept: %+v %v", colleague, err)
	}
	if _, err := svc.AcceptInvitation(ctx, tok, "Intrus", "une autre phrase solide", "fr"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("invitation reused: %v", err)
	}
	if err := svc.Invite(ctx, colleague, "x@exemple.fr"); !errors.Is(err, member.ErrForbidden) {
		t.Errorf("a non-owner invites: %v", err)
	}
	// A member cannot read another organisation.
	if _, err := svc.Users(ctx, colleague, staff.OrgID); !errors.Is(err, member.ErrForbidden) {
		t.Errorf("reading another organisation's users: %v", err)
	}

	data, err := svc.Export(ctx, colleague)
	if err != nil || !strings.Contains(string(data), "Louis Collègue") || !strings.Contains(string(data), "collegue@exemple.fr") {
		t.Errorf("export: %v %s", err, data)
	}
	// The last owner cannot leave colleagues behind.
	if err := svc.DeleteAccount(ctx, owner, "une phrase de passe solide"); !errors.Is(err, member.ErrLastOwner) {
		t.Errorf("last owner deletes: %v", err)
	}
	if err := svc.DeleteAccount(ctx, colleague, "une autre phrase solide"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users WHERE email = 'collegue@exemple.fr'`) +
		count(t, pool, `SELECT count(*) FROM emails WHERE to_addr = 'collegue@exemple.fr'`) +
		count(t, pool, `SELECT count(*) FROM audit_entries WHERE actor_label LIKE '%Louis%' OR target_label LIKE '%Louis%'`); n != 0 {
		t.Errorf("%d rows still hold the deleted user's personal data", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_entries WHERE action = 'account.deleted'`); n != 1 {
		t.Errorf("deletion not audited: %d", n)
	}
	if err := svc.CloseOrganisation(ctx, owner, "une phrase de passe solide"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users WHERE organisation_id = $1`, id); n != 0 {
		t.Errorf("closed organisation keeps %d users", n)
	}
	if _, err := svc.Authenticate(ctx, "owner@exemple.fr", "une phrase de passe solide"); !errors.Is(err, member.ErrInvalidCredentials) {
		t.Errorf("sign-in after closing: %v", err)
	}
	// The company may apply again later.
	if _, err := svc.Apply(ctx, application(sirenA, "retour@exemple.fr")); err != nil {
		t.Errorf("re-application after leaving: %v", err)
	}
}

// The queue is paged, oldest first, with the total of all pages.
func TestApplicationsArePaged(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	if _, err := pool.Exec(ctx, `
		WITH o AS (
			INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, created_at)
			SELECT lpad(i::text, 9, '0'), 'Candidat ' || i, 'pme', '62.01Z', '11', '75', now() - (100 - i) * interval '1 hour'
			FROM generate_series(1, 55) i RETURNING id, legal_name)
		INSERT INTO users (organisation_id, email, name, password_hash, role)
		SELECT id, 'c' || id || '@exemple.fr', legal_name, 'x', 'owner' FROM o`); err != nil {
		t.Fatal(err)
	}
	first, total, err := svc.Applications(ctx, staff, 1)
	if err != nil {
		t.Fatal(err)
	}
	second, total2, err := svc.Applications(ctx, staff, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 55 || total2 != 55 || len(first) != member.PageSize || len(second) != 55-member.PageSize {
		t.Fatalf("pages of %d and %d, totals %d and %d", len(first), len(second), total, total2)
	}
	if first[0].LegalName != "Candidat 1" || second[len(second)-1].LegalName != "Candidat 55" {
		t.Errorf("not oldest first: %q … %q", first[0].LegalName, second[len(second)-1].LegalName)
	}
}

// Erasing a user blanks the audit entries about them, and only those: a
// namesake in another organisation keeps theirs.
func TestEraseKeepsNamesakesAuditEntries(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	var colleagues []member.Actor
	for i, siren := range []string{sirenA, sirenB} {
		owner := approvedOwner(t, svc, staff, siren, fmt.Sprintf("owner%d@exemple.fr", i))
		email := fmt.Sprintf("camille%d@exemple.fr", i)
		if err := svc.Invite(ctx, owner, email); err != nil {
			t.Fatal(err)
		}
		c, err := svc.AcceptInvitation(ctx, lastToken(t, pool, email), "Camille Martin", "une autre phrase solide", "fr")
		if err != nil {
			t.Fatal(err)
		}
		colleagues = append(colleagues, c)
	}
	if err := svc.DeleteAccount(ctx, colleagues[0], "une autre phrase solide"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_entries WHERE organisation_id = $1 AND target_label = 'Camille Martin'`, colleagues[0].OrgID); n != 0 {
		t.Errorf("the deleted user's name is still in %d entries", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_entries WHERE organisation_id = $1 AND action = 'invitation.accepted'
			AND target_label = 'Camille Martin' AND actor_label = 'Camille Martin'`, colleagues[1].OrgID); n != 1 {
		t.Errorf("the namesake's invitation entry lost its labels: %d entries left", n)
	}
}

// The personal-data export has one shape: the documented snake_case keys.
func TestExportShape(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	owner := approvedOwner(t, svc, staffActor(t, pool), sirenA, "owner@exemple.fr")
	data, err := svc.Export(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(raw json.RawMessage) []string {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	first := func(raw json.RawMessage) json.RawMessage {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			t.Fatalf("want a non-empty list: %s", raw)
		}
		return list[0]
	}
	want := map[string][]string{
		"top":          {"audit_entries_by_you", "emails_sent_to_you", "generated_at", "organisation", "user"},
		"user":         {"created_at", "email", "id", "last_sign_in_at", "locale", "name", "organisation_id", "role"},
		"organisation": {"created_at", "decided_at", "departement", "description", "headcount_band", "id", "kind", "legal_name", "naf_code", "siren", "status", "status_reason", "website"},
		"audit":        {"action", "actor", "at", "id", "organisation_id", "reason", "target"},
		"email":        {"attempts", "body", "created_at", "id", "kind", "last_error", "sent_at", "subject", "to"},
	}
	got := map[string][]string{
		"top": slices.Sorted(maps.Keys(doc)), "user": keys(doc["user"]), "organisation": keys(doc["organisation"]),
		"audit": keys(first(doc["audit_entries_by_you"])), "email": keys(first(doc["emails_sent_to_you"])),
	}
	for part, w := range want {
		if !slices.Equal(got[part], w) {
			t.Errorf("%s keys: %v, want %v", part, got[part], w)
		}
	}
}

// approvedOwner applies with siren, has staff approve it, and signs its owner in.
func approvedOwner(t *testing.T, svc *member.Service, staff member.Actor, siren, email string) member.Actor {
	t.Helper()
	ctx := context.Background()
	id, err := svc.Apply(ctx, application(siren, email))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Decide(ctx, staff, id, member.Approve, ""); err != nil {
		t.Fatal(err)
	}
	owner, err := svc.Authenticate(ctx, email, "une phrase de passe solide")
	if err != nil {
		t.Fatal(err)
	}
	return owner
}

// Outside development, staff do not read the unsubscribe links of the
// mails on the mailbox page: they are the recipient's to use.
func TestMailboxHidesUnsubscribeLinks(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	token := strings.Repeat("0123456789abcdef", 4)
	if _, err := pool.Exec(ctx, `INSERT INTO emails (to_addr, subject, body, kind, unsubscribe_url) VALUES ('a@exemple.fr', 'Offre publiée',
		'Ne plus les recevoir : http://passerelle.test/desabonnement?categorie=moderation&jeton=' || $1, 'offer_published',
		'http://passerelle.test/desabonnement?categorie=moderation&jeton=' || $1)`, token); err != nil {
		t.Fatal(err)
	}
	mails, _, err := svc.Mailbox(ctx, staff, 1)
	if err != nil || len(mails) != 1 || strings.Contains(mails[0].Body, token) || !strings.Contains(mails[0].Body, "desabonnement") {
		t.Errorf("unsubscribe token shown to staff: %+v %v", mails, err)
	}
	svc.RevealSecrets = true
	if mails, _, _ = svc.Mailbox(ctx, staff, 1); !strings.Contains(mails[0].Body, token) {
		t.Error("development mailbox hides the link")
	}
}

// A made-up or used link is refused before any password is hashed, and a
// server whose hashing slots are all taken says so (ErrBusy) instead of
// queueing argon2 work without bound.
func TestLinksAreCheckedBeforeHashing(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	owner := approvedOwner(t, svc, staff, sirenA, "owner@exemple.fr")
	if err := svc.RequestPasswordReset(ctx, "owner@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	reset := lastToken(t, pool, "owner@exemple.fr")
	if err := svc.Invite(ctx, owner, "collegue@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	invitation := lastToken(t, pool, "collegue@exemple.fr")

	svc.SetHashSlots(0) // no hashing possible: whatever needs a hash gets ErrBusy
	if err := svc.ResetPassword(ctx, "lien-invente", "un nouveau mot de passe"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("made-up reset link: %v, want ErrTokenInvalid before any hashing", err)
	}
	if _, err := svc.AcceptInvitation(ctx, "lien-invente", "Louis", "un nouveau mot de passe", "fr"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("made-up invitation: %v, want ErrTokenInvalid before any hashing", err)
	}
	if err := svc.ResetPassword(ctx, reset, "un nouveau mot de passe"); !errors.Is(err, member.ErrBusy) {
		t.Errorf("valid reset with no hashing slot: %v, want ErrBusy", err)
	}
	if _, err := svc.AcceptInvitation(ctx, invitation, "Louis", "un nouveau mot de passe", "fr"); !errors.Is(err, member.ErrBusy) {
		t.Errorf("valid invitation with no hashing slot: %v, want ErrBusy", err)
	}
	if _, err := svc.Authenticate(ctx, "owner@exemple.fr", "une phrase de passe solide"); !errors.Is(err, member.ErrBusy) {
		t.Errorf("sign-in with no hashing slot: %v, want ErrBusy", err)
	}
	// Nothing was used up: with slots again, both links still work.
	svc.SetHashSlots(2)
	if err := svc.ResetPassword(ctx, reset, "un nouveau mot de passe"); err != nil {
		t.Errorf("reset once slots are free: %v", err)
	}
	if _, err := svc.AcceptInvitation(ctx, invitation, "Louis", "un nouveau mot de passe", "fr"); err != nil {
		t.Errorf("invitation once slots are free: %v", err)
	}
}

// A newly admitted SME gets its search facets when staff approve it, not at
// its first edit: the directory finds it by place and size at once.
func TestApprovalIndexesTheNewMember(t *testing.T) {
	svc, pool := newService(t)
	svc.Index = search.NewIndexer(tax).Refresh
	ctx := context.Background()
	approvedOwner(t, svc, staffActor(t, pool), sirenA, "owner@exemple.fr")
	var facets []string
	if err := pool.QueryRow(ctx, `SELECT facets FROM organisations WHERE siren = $1`, sirenA).Scan(&facets); err != nil {
		t.Fatal(err)
	}
	a := application(sirenA, "x@exemple.fr")
	d, _ := tax.Departement(a.Departement)
	for _, want := range []string{"dep:" + d.Code, "reg:" + d.RegionCode, "kind:" + a.Kind} {
		if !slices.Contains(facets, want) {
			t.Errorf("facets after approval %v, missing %s", facets, want)
		}
	}
}

// Sessions end with a password reset or change and with "sign out
// everywhere" (the user's session epoch moves on); irreversible actions ask
// for the password again.
func TestSessionEpochAndPasswordAgain(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	owner := approvedOwner(t, svc, staffActor(t, pool), sirenA, "owner@exemple.fr")
	epoch := func() int {
		a, err := svc.ActorByID(ctx, owner.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return a.SessionEpoch
	}
	start := epoch()
	if err := svc.SignOutEverywhere(ctx, owner); err != nil || epoch() != start+1 {
		t.Errorf("sign out everywhere: epoch %d → %d, %v", start, epoch(), err)
	}
	if err := svc.RequestPasswordReset(ctx, "owner@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	if err := svc.ResetPassword(ctx, lastToken(t, pool, "owner@exemple.fr"), "une phrase réinitialisée"); err != nil {
		t.Fatal(err)
	}
	if epoch() != start+2 {
		t.Errorf("a reset leaves other sessions alive: epoch %d", epoch())
	}
	if _, err := svc.ChangePassword(ctx, owner, "pas le bon", "une toute nouvelle phrase"); fieldErrs(err)["current_password"] != "account.password_wrong" {
		t.Errorf("change with a wrong current password: %v", err)
	}
	got, err := svc.ChangePassword(ctx, owner, "une phrase réinitialisée", "une toute nouvelle phrase")
	if err != nil || got != start+3 || epoch() != got {
		t.Errorf("change: epoch %d (user %d), %v", got, epoch(), err)
	}
	if _, err := svc.Authenticate(ctx, "owner@exemple.fr", "une toute nouvelle phrase"); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
	if err := svc.DeleteAccount(ctx, owner, "pas le bon"); !errors.Is(err, member.ErrInvalidCredentials) {
		t.Errorf("delete with a wrong password: %v", err)
	}
	if err := svc.CloseOrganisation(ctx, owner, ""); !errors.Is(err, member.ErrInvalidCredentials) {
		t.Errorf("close without the password: %v", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users WHERE id = $1`, owner.UserID); n != 1 {
		t.Error("the account went without its password")
	}
}

// Pending invitations can be listed and revoked by whoever manages them,
// and die with their inviter's account and with their organisation.
func TestInvitationsRevokedAndDying(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	staff := staffActor(t, pool)
	owner := approvedOwner(t, svc, staff, sirenA, "owner@exemple.fr")
	other := approvedOwner(t, svc, staff, sirenB, "other@exemple.fr")
	for _, email := range []string{"un@exemple.fr", "deux@exemple.fr"} {
		if err := svc.Invite(ctx, owner, email); err != nil {
			t.Fatal(err)
		}
	}
	list, err := svc.Invitations(ctx, owner)
	if err != nil || len(list) != 2 || list[0].Email != "un@exemple.fr" || list[0].Role != member.RoleMember || list[0].InvitedBy == "" {
		t.Fatalf("pending invitations: %+v %v", list, err)
	}
	tok := lastToken(t, pool, "un@exemple.fr")
	if err := svc.RevokeInvitation(ctx, other, list[0].ID); !errors.Is(err, member.ErrNotFound) {
		t.Errorf("another organisation revokes it: %v", err)
	}
	if err := svc.RevokeInvitation(ctx, owner, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AcceptInvitation(ctx, tok, "Un", "une phrase de passe solide", "fr"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("a revoked invitation was accepted: %v", err)
	}
	if _, err := svc.Invitations(ctx, member.Actor{UserID: 9, OrgID: owner.OrgID, Role: member.RoleMember, Kind: member.KindPME}); !errors.Is(err, member.ErrForbidden) {
		t.Errorf("a plain member lists invitations: %v", err)
	}

	// An invitation dies with its inviter's account.
	second := lastToken(t, pool, "deux@exemple.fr")
	if err := svc.Invite(ctx, other, "trois@exemple.fr"); err != nil {
		t.Fatal(err)
	}
	third := lastToken(t, pool, "trois@exemple.fr")
	if err := svc.DeleteAccount(ctx, owner, "une phrase de passe solide"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AcceptInvitation(ctx, second, "Deux", "une phrase de passe solide", "fr"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("an invitation outlived its inviter: %v", err)
	}
	// And with its organisation.
	if err := svc.CloseOrganisation(ctx, other, "une phrase de passe solide"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AcceptInvitation(ctx, third, "Trois", "une phrase de passe solide", "fr"); !errors.Is(err, member.ErrTokenInvalid) {
		t.Errorf("an invitation outlived its organisation: %v", err)
	}
}

// Two owners leaving at the same moment cannot leave colleagues without an
// owner: one of them is refused.
func TestLastOwnerRace(t *testing.T) {
	svc, pool := newService(t)
	ctx := context.Background()
	first := approvedOwner(t, svc, staffActor(t, pool), sirenA, "owner@exemple.fr")
	hash, err := member.HashPassword("une phrase de passe solide")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role) VALUES
		($1, 'owner2@exemple.fr', 'Second', $2, 'owner'), ($1, 'membre@exemple.fr', 'Membre', $2, 'member')`, first.OrgID, hash); err != nil {
		t.Fatal(err)
	}
	second, err := svc.Authenticate(ctx, "owner2@exemple.fr", "une phrase de passe solide")
	if err != nil {
		t.Fatal(err)
	}
	defer member.WidenLastOwnerRace(300 * time.Millisecond)()
	for round := range 3 {
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, a := range []member.Actor{first, second} {
			go func() {
				<-start
				errs <- svc.DeleteAccount(ctx, a, "une phrase de passe solide")
			}()
		}
		close(start)
		e1, e2 := <-errs, <-errs
		refused := 0
		for _, e := range []error{e1, e2} {
			switch {
			case errors.Is(e, member.ErrLastOwner):
				refused++
			case e != nil:
				t.Fatalf("round %d: %v", round, e)
			}
		}
		if refused != 1 || count(t, pool, `SELECT count(*) FROM users WHERE organisation_id = $1 AND role = 'owner'`, first.OrgID) != 1 {
			t.Fatalf("round %d: %d refused, want 1; owners left %d", round, refused,
				count(t, pool, `SELECT count(*) FROM users WHERE organisation_id = $1 AND role = 'owner'`, first.OrgID))
		}
		// Put the deleted owner back for the next round.
		if _, err := pool.Exec(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role)
			SELECT $1, e, 'Revenu', $2, 'owner' FROM unnest(ARRAY['owner@exemple.fr', 'owner2@exemple.fr']) e
			WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = e)`, first.OrgID, hash); err != nil {
			t.Fatal(err)
		}
		first, _ = svc.Authenticate(ctx, "owner@exemple.fr", "une phrase de passe solide")
		second, _ = svc.Authenticate(ctx, "owner2@exemple.fr", "une phrase de passe solide")
	}
}
