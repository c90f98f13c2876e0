package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"passerelle/internal/mail"
	"passerelle/internal/postgres/pgtest"
)

type captured struct{ got []mail.Message }

func (c *captured) Send(_ context.Context, m mail.Message) error {
	c.got = append(c.got, m)
	return nil
}

// A delivered mail keeps no usable link in the outbox (unless staff must
// read it: development), and sent mail is purged after its retention.
func TestSentMailKeepsNoSecretAndIsPurged(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	token := "AbCdEf0123456789_-XyZ0123456789abcdefGHIJ"
	insert := func(to string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO emails (to_addr, subject, body, kind, unsubscribe_url)
			VALUES ($1, 'Réinitialisation', 'Choisissez un mot de passe : https://passerelle.test/mot-de-passe/nouveau?jeton=' || $2, 'password_reset',
			        'https://passerelle.test/desabonnement?jeton=' || $2) RETURNING id`, to, token).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, keep := range []bool{false, true} {
		sender := &captured{}
		w := &mail.Worker{DB: pool, Sender: sender, KeepSecrets: keep}
		id := insert("a@exemple.fr")
		if err := w.Work(ctx, &river.Job[mail.SendArgs]{Args: mail.SendArgs{EmailID: id}}); err != nil {
			t.Fatal(err)
		}
		if len(sender.got) != 1 || !strings.Contains(sender.got[0].Body, token) {
			t.Fatalf("the recipient did not get the link: %+v", sender.got)
		}
		var body, unsubscribe string
		_ = pool.QueryRow(ctx, `SELECT body, unsubscribe_url FROM emails WHERE id = $1`, id).Scan(&body, &unsubscribe)
		if stored := strings.Contains(body+unsubscribe, token); stored != keep {
			t.Errorf("keep secrets %t: the outbox holds the link: %t (%q)", keep, stored, body)
		}
	}

	// Sent long ago: purged; sent lately or never sent: kept.
	old, recent, unsent := insert("old@exemple.fr"), insert("recent@exemple.fr"), insert("unsent@exemple.fr")
	if _, err := pool.Exec(ctx, `UPDATE emails SET sent_at = now() - interval '40 days', created_at = now() - interval '40 days' WHERE id = $1;`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE emails SET sent_at = now() - interval '2 days' WHERE id = $1`, recent); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE emails SET created_at = now() - interval '60 days' WHERE id = $1`, unsent); err != nil {
		t.Fatal(err)
	}
	if err := (&mail.PurgeWorker{DB: pool, Retention: 30 * 24 * time.Hour}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var left []int64
	rows, _ := pool.Query(ctx, `SELECT id FROM emails WHERE id = ANY($1) ORDER BY id`, []int64{old, recent, unsent})
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		left = append(left, id)
	}
	if len(left) != 2 || left[0] != recent || left[1] != unsent {
		t.Errorf("after the purge %v are left, want [%d %d]", left, recent, unsent)
	}
}
