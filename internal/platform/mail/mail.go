// Package mail delivers notifications reliably: a service writes the
// message to the emails outbox and enqueues a River job in the same
// transaction, so a mail exists if and only if the change that caused it was
// committed. Workers on any server deliver it over SMTP, with retries.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
)

// Message is one e-mail to one recipient.
type Message struct {
	To      string
	Subject string
	Body    string // plain text
	Kind    string // e.g. "application_received", for the staff mailbox
	// Unsubscribe is the one-click unsubscribe URL of a mail one can turn
	// off (List-Unsubscribe, RFC 8058); empty for essential mails.
	Unsubscribe string
	// ID is the outbox row: it makes the Message-ID, the same on every
	// attempt, so a mail sent twice after a lost answer is recognisable.
	ID int64
}

// SendArgs is the River job that delivers one outbox row.
type SendArgs struct {
	EmailID int64 `json:"email_id"`
}

// Kind names the job in River's tables.
func (SendArgs) Kind() string { return "send_email" }

// Sender hands a message to a mail server.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox records messages and enqueues their delivery.
type Outbox struct {
	jobs jobs.Client
}

// NewOutbox returns an outbox that enqueues through c (a client that may
// or may not work jobs itself).
func NewOutbox(c jobs.Client) *Outbox { return &Outbox{jobs: c} }

// Enqueue stores m and schedules its delivery, inside tx.
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, m Message) error {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO emails (to_addr, subject, body, kind, unsubscribe_url) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		m.To, m.Subject, m.Body, m.Kind, m.Unsubscribe).Scan(&id)
	if err != nil {
		return fmt.Errorf("mail: store: %w", err)
	}
	if _, err := o.jobs.InsertTx(ctx, tx, SendArgs{EmailID: id}, nil); err != nil {
		return fmt.Errorf("mail: enqueue %d: %w", id, err)
	}
	return nil
}

// JobOutbox is the outbox of background jobs: it enqueues deliveries
// through the River client working the job (built after the jobs are
// registered, so it cannot be handed to them).
type JobOutbox struct{}

// Enqueue stores m and schedules its delivery, inside tx; ctx must be a
// job's.
func (JobOutbox) Enqueue(ctx context.Context, tx pgx.Tx, m Message) error {
	return NewOutbox(river.ClientFromContext[pgx.Tx](ctx)).Enqueue(ctx, tx, m)
}

// Worker delivers outbox rows.
type Worker struct {
	river.WorkerDefaults[SendArgs]
	DB     *pgxpool.Pool
	Sender Sender
	// KeepSecrets leaves the links of a sent mail readable in the outbox
	// (development, where staff read them on the mailbox page); otherwise
	// the stored copy loses its link secrets once delivered.
	KeepSecrets bool
}

// linkSecret is the secret part of the links mails carry (reset,
// invitation, unsubscribe): "jeton=<token>".
var linkSecret = regexp.MustCompile(`jeton=[A-Za-z0-9_-]{16,}`)

// Redact removes the link secrets of a mail's text.
func Redact(body string) string { return linkSecret.ReplaceAllString(body, "jeton=…") }

// Work sends one stored message; an error makes River retry with backoff.
func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	m := Message{ID: job.Args.EmailID}
	var sent *time.Time
	err := w.DB.QueryRow(ctx, `SELECT to_addr, subject, body, kind, unsubscribe_url, sent_at FROM emails WHERE id = $1`, job.Args.EmailID).
		Scan(&m.To, &m.Subject, &m.Body, &m.Kind, &m.Unsubscribe, &sent)
	if err == pgx.ErrNoRows {
		return nil // deleted meanwhile (account erased): nothing to send
	}
	if err != nil {
		return fmt.Errorf("mail: load %d: %w", job.Args.EmailID, err)
	}
	if sent != nil {
		return nil // already delivered by an earlier attempt
	}
	if err := w.Sender.Send(ctx, m); err != nil {
		_, _ = w.DB.Exec(ctx, `UPDATE emails SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, job.Args.EmailID, err.Error())
		return fmt.Errorf("mail: send %d: %w", job.Args.EmailID, err)
	}
	if w.KeepSecrets {
		_, err = w.DB.Exec(ctx, `UPDATE emails SET attempts = attempts + 1, sent_at = now(), last_error = '' WHERE id = $1`, job.Args.EmailID)
	} else {
		// Delivered: the outbox keeps what was said, not a usable link.
		_, err = w.DB.Exec(ctx, `UPDATE emails SET attempts = attempts + 1, sent_at = now(), last_error = '',
			body = $2, unsubscribe_url = '' WHERE id = $1`, job.Args.EmailID, Redact(m.Body))
	}
	return err
}

// PurgeArgs is the daily job that deletes sent mail past its retention.
type PurgeArgs struct{}

// Kind names the job in River.
func (PurgeArgs) Kind() string { return "mail.purge_sent" }

// PurgeWorker works PurgeArgs.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	DB        *pgxpool.Pool
	Retention time.Duration
}

// Work deletes the mail sent longer ago than the retention; unsent mail
// stays, whatever its age.
func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	if _, err := w.DB.Exec(ctx, `DELETE FROM emails WHERE sent_at < now() - make_interval(secs => $1)`, w.Retention.Seconds()); err != nil {
		return fmt.Errorf("mail: purge sent mail: %w", err)
	}
	return nil
}

// ResendArgs is the hourly job that gives mail a new delivery job when the
// last one gave up (a relay down for longer than the retry schedule):
// mail is late, never lost.
type ResendArgs struct{}

// Kind names the job in River.
func (ResendArgs) Kind() string { return "mail.resend_unsent" }

// ResendWorker works ResendArgs.
type ResendWorker struct {
	river.WorkerDefaults[ResendArgs]
	DB  *pgxpool.Pool
	Log *slog.Logger
}

// Work re-enqueues every unsent mail older than a few minutes that has no
// delivery job under way, and logs the backlog.
func (w *ResendWorker) Work(ctx context.Context, _ *river.Job[ResendArgs]) error {
	// The mails with a delivery job under way are read once (a hash
	// anti-join), not looked up in the job table mail by mail.
	rows, err := w.DB.Query(ctx, `WITH under_way AS (
			SELECT (args->>'email_id')::bigint AS id FROM river_job
			WHERE kind = 'send_email' AND state NOT IN ('completed', 'cancelled', 'discarded'))
		SELECT e.id FROM emails e
		WHERE e.sent_at IS NULL AND e.created_at < now() - interval '5 minutes'
		  AND e.id NOT IN (SELECT id FROM under_way WHERE id IS NOT NULL)
		ORDER BY e.id LIMIT $1`, resendBatch)
	if err != nil {
		return fmt.Errorf("mail: unsent backlog: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("mail: unsent backlog: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if w.Log != nil {
		w.Log.Warn("mail: unsent backlog, delivery tried again", "mails", len(ids), "oldest", ids[0])
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: SendArgs{EmailID: id}}
	}
	if _, err := river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("mail: enqueue %d unsent mails again: %w", len(ids), err)
	}
	return nil
}

// resendBatch bounds one run of the resend job; the next run (hourly, and
// at every start) takes the rest.
const resendBatch = 10000

// Options tune mail delivery.
type Options struct {
	KeepSecrets bool          // see Worker.KeepSecrets
	Retention   time.Duration // how long sent mail is kept; default 30 days
	Log         *slog.Logger  // where the unsent backlog is reported
}

// Register adds mail delivery, and the daily purge of old sent mail, to
// the server's background jobs.
func Register(reg *jobs.Registry, pool *pgxpool.Pool, sender Sender, o Options) {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	jobs.Add(reg, &Worker{DB: pool, Sender: sender, KeepSecrets: o.KeepSecrets})
	jobs.Add(reg, &PurgeWorker{DB: pool, Retention: o.Retention})
	jobs.Add(reg, &ResendWorker{DB: pool, Log: o.Log})
	reg.Every(24*time.Hour, func() river.JobArgs { return PurgeArgs{} })
	reg.Every(time.Hour, func() river.JobArgs { return ResendArgs{} })
}

// SMTPSender delivers through an SMTP relay (no authentication: a relay
// that trusts this network), with deadlines on every step and STARTTLS
// required unless AllowPlain.
type SMTPSender struct {
	Addr       string // host:port
	From       string // "Passerelle <no-reply@…>"
	AllowPlain bool   // send without STARTTLS when the relay does not offer it (a relay on localhost; tests)
	Timeout    time.Duration
}

// ErrNoTLS refuses a relay that does not offer STARTTLS.
var ErrNoTLS = errors.New("mail: the relay does not offer STARTTLS (set SMTP_TLS=off to send in clear to a local relay)")

// Send writes m as a UTF-8 plain-text message.
func (s SMTPSender) Send(ctx context.Context, m Message) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	fromAddr := s.From
	if i := strings.LastIndex(fromAddr, "<"); i >= 0 {
		fromAddr = strings.Trim(fromAddr[i:], "<>")
	}
	domain := fromAddr[strings.LastIndex(fromAddr, "@")+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", s.From)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	if m.ID != 0 {
		fmt.Fprintf(&b, "Message-ID: <%d.outbox@%s>\r\n", m.ID, domain)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	fmt.Fprintf(&b, "X-Passerelle-Kind: %s\r\n", m.Kind)
	if m.Unsubscribe != "" {
		fmt.Fprintf(&b, "List-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", m.Unsubscribe)
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("mail: dial %s: %w", s.Addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil { // every read and write of the exchange
		return err
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("mail: starttls: %w", err)
		}
	} else if !s.AllowPlain {
		return ErrNoTLS
	}
	if err := c.Mail(fromAddr); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("mail: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: end of data: %w", err)
	}
	return c.Quit()
}

// LogSender is the development sender: it logs the message; staff read
// every message on the mailbox page.
type LogSender struct{ Log *slog.Logger }

// Send logs m.
func (s LogSender) Send(_ context.Context, m Message) error {
	s.Log.Info("mail (development: not sent, see /equipe/courriels)", "to", m.To, "subject", m.Subject, "kind", m.Kind)
	return nil
}
