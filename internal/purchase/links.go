package purchase

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Purposes of one-click links in mails.
const (
	LinkInterest      = "interest"       // an SME says it is interested
	LinkNotInterested = "not_interested" // an SME says it is not
	LinkFollowUp      = "follow_up"      // the buyer says what happened after the deadline
)

// Link is what a signed link in a mail stands for: one purpose, one
// request, one organisation and one of its users, until Expires. The
// signature covers all of them, so a link cannot be turned to another
// request, another organisation or a later date.
type Link struct {
	Purpose string
	Request int64
	Org     int64
	User    int64
	Expires time.Time
}

// linkKey is the signing key, shared by every server through the database.
type linkKey struct {
	mu     sync.Mutex
	secret []byte
}

func (k *linkKey) get(ctx context.Context, db *pgxpool.Pool) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.secret == nil {
		secret, err := store{}.linkSecret(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("purchase: link key: %w", err)
		}
		k.secret = secret
	}
	return k.secret, nil
}

func (l Link) payload() string {
	return strings.Join([]string{l.Purpose, strconv.FormatInt(l.Request, 10), strconv.FormatInt(l.Org, 10),
		strconv.FormatInt(l.User, 10), strconv.FormatInt(l.Expires.Unix(), 10)}, ".")
}

func sign(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("passerelle-link:" + payload))
	return m.Sum(nil)
}

// SignLink returns the token of l, for a URL.
func (s *Service) SignLink(ctx context.Context, l Link) (string, error) {
	secret, err := s.keys.get(ctx, s.db)
	if err != nil {
		return "", err
	}
	p := l.payload()
	// One base64url word (the signature, then the payload), which the
	// outbox's redaction of link secrets recognises whole.
	return base64.RawURLEncoding.EncodeToString(append(sign(secret, p)[:macLen], p...)), nil
}

// macLen is the length kept of the HMAC-SHA256 (160 bits).
const macLen = 20

// VerifyLink reads a token for purpose on request: ErrLinkInvalid when it
// was not signed here, is for another purpose or request, or has expired.
func (s *Service) VerifyLink(ctx context.Context, token, purpose string, request int64) (Link, error) {
	secret, err := s.keys.get(ctx, s.db)
	if err != nil {
		return Link{}, err
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token) // Strict: a changed last character is refused too
	if err != nil || len(token) > 300 || len(raw) <= macLen {
		return Link{}, ErrLinkInvalid
	}
	mac, p := raw[:macLen], raw[macLen:]
	if !hmac.Equal(mac, sign(secret, string(p))[:macLen]) {
		return Link{}, ErrLinkInvalid
	}
	parts := strings.Split(string(p), ".")
	if len(parts) != 5 {
		return Link{}, ErrLinkInvalid
	}
	var n [4]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(parts[i+1], 10, 64); err != nil {
			return Link{}, ErrLinkInvalid
		}
	}
	l := Link{Purpose: parts[0], Request: n[0], Org: n[1], User: n[2], Expires: time.Unix(n[3], 0)}
	if l.Purpose != purpose || l.Request != request || !s.Now().Before(l.Expires) {
		return Link{}, ErrLinkInvalid
	}
	return l, nil
}
