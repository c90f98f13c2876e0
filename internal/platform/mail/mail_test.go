package mail_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/mail/mailtest"
	"passerelle/internal/platform/postgres/pgtest"
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
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT body, unsubscribe_url FROM emails WHERE id = $1`, id), &body, &unsubscribe)
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
	left := pgtest.Rows[int64](t, pool, `SELECT id FROM emails WHERE id = ANY($1) ORDER BY id`, []int64{old, recent, unsent})
	if len(left) != 2 || left[0] != recent || left[1] != unsent {
		t.Errorf("after the purge %v are left, want [%d %d]", left, recent, unsent)
	}
}

// relayBack is a relay that works again, safe for River's workers.
type relayBack struct {
	captured
	mu sync.Mutex
}

func (f *relayBack) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.captured.Send(ctx, m)
}

// A mail whose delivery job gave up while the relay was down (here: no job
// left at all) is sent once the relay is back, by the hourly resend job;
// a mail already sent is not sent again.
func TestUnsentMailIsSentAgainAfterAnOutage(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	relay := &relayBack{}
	reg := jobs.NewRegistry()
	mail.Register(reg, pool, relay, mail.Options{})
	client, err := jobs.New(pool, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), jobs.Options{Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var stranded, delivered int64
	if err := pool.QueryRow(ctx, `INSERT INTO emails (to_addr, subject, body, kind, created_at)
		VALUES ('a@exemple.fr', 'Offre publiée', 'Bonjour', 'offer_published', now() - interval '3 hours') RETURNING id`).Scan(&stranded); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO emails (to_addr, subject, body, kind, created_at, sent_at)
		VALUES ('b@exemple.fr', 'Offre publiée', 'Bonjour', 'offer_published', now() - interval '3 hours', now() - interval '2 hours') RETURNING id`).Scan(&delivered); err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop(context.Background()) }()
	if _, err := client.Insert(ctx, mail.ResendArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var sent bool
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT sent_at IS NOT NULL FROM emails WHERE id = $1`, stranded), &sent)
		if sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stranded mail was not sent again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if len(relay.got) != 1 || relay.got[0].To != "a@exemple.fr" || relay.got[0].ID != stranded {
		t.Errorf("sent %+v, want the stranded mail once", relay.got)
	}
}

// A relay that does not offer STARTTLS is refused unless plain text is
// allowed (a relay on localhost); every mail has a Message-ID built from
// its outbox row.
func TestSMTPRequiresTLSAndSetsMessageID(t *testing.T) {
	relay := mailtest.Start(t)
	m := mail.Message{ID: 42, To: "a@exemple.fr", Subject: "Offre publiée", Body: "Bonjour", Kind: "offer_published"}
	if err := (mail.SMTPSender{Addr: relay.Addr, From: "Passerelle <no-reply@passerelle.test>"}).Send(context.Background(), m); !errors.Is(err, mail.ErrNoTLS) {
		t.Errorf("plain relay: %v, want ErrNoTLS", err)
	}
	if err := (mail.SMTPSender{Addr: relay.Addr, From: "Passerelle <no-reply@passerelle.test>", AllowPlain: true}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := relay.WaitFor(t, "a@exemple.fr", "Bonjour")
	if !strings.Contains(got.Data, "Message-ID: <42.outbox@passerelle.test>") {
		t.Errorf("no Message-ID from the outbox row:\n%s", got.Data)
	}
	// A relay that never answers: the send gives up at its deadline.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	err = (mail.SMTPSender{Addr: l.Addr().String(), From: "x@passerelle.test", AllowPlain: true, Timeout: 500 * time.Millisecond}).Send(context.Background(), m)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("silent relay: %v after %s", err, time.Since(start))
	}
}
