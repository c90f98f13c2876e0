// Package mailtest runs a real SMTP server in-process and keeps what it
// receives, so tests read the mails the application really sent.
package mailtest

import (
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From string
	To   []string
	Data string // headers and body, as received
}

// Server is an SMTP server on 127.0.0.1.
type Server struct {
	Addr string
	mu   sync.Mutex
	got  []Mail
}

// Start listens on a free port until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }

type session struct {
	srv  *Server
	from string
	to   []string
}

func (x *session) Reset()                                      { x.from, x.to = "", nil }
func (x *session) Logout() error                               { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.srv.mu.Lock()
	x.srv.got = append(x.srv.got, Mail{From: x.from, To: x.to, Data: string(b)})
	x.srv.mu.Unlock()
	return nil
}

// All returns every mail received so far.
func (s *Server) All() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}

// WaitFor waits up to 20 s for a mail to addr whose text contains substr.
func (s *Server) WaitFor(t testing.TB, addr, substr string) Mail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range s.All() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) && strings.Contains(m.Data, substr) {
					return m
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail to %s containing %q within 20 s (received %d mails)", addr, substr, len(s.All()))
	return Mail{}
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// Link returns the first URL in the mail whose text contains part.
func (m Mail) Link(t testing.TB, part string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Data, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	t.Fatalf("no link containing %q in mail:\n%s", part, m.Data)
	return ""
}
