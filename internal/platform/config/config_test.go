package config_test

import (
	"strings"
	"testing"
	"time"

	"passerelle/internal/platform/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != "development" || c.Addr != "127.0.0.1:8080" || c.LogFormat != "text" ||
		c.ShutdownTimeout != 15*time.Second || c.BaseURL != "http://localhost:8080" || c.DataDir != ".data" {
		t.Errorf("defaults: %+v", c)
	}
	p, err := config.Load(env(map[string]string{"PASSERELLE_ENV": "production", "DATABASE_URL": "postgres://u:secret@db/p", "SMTP_ADDR": "smtp:25"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Addr != "0.0.0.0:8080" || p.LogFormat != "json" || !p.Production() {
		t.Errorf("production defaults: %+v", p)
	}
}

func TestBadValuesAreAllReported(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"port", map[string]string{"PORT": "http"}, []string{"PORT"}},
		{"port range", map[string]string{"PORT": "70000"}, []string{"PORT"}},
		{"env", map[string]string{"PASSERELLE_ENV": "staging"}, []string{"PASSERELLE_ENV"}},
		{"duration", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, []string{"SHUTDOWN_TIMEOUT"}},
		{"database scheme", map[string]string{"DATABASE_URL": "mysql://x"}, []string{"DATABASE_URL"}},
		{"production needs a database", map[string]string{"PASSERELLE_ENV": "production"}, []string{"DATABASE_URL"}},
		{"several at once", map[string]string{"PORT": "x", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml"},
			[]string{"PORT", "LOG_LEVEL", "LOG_FORMAT"}},
		{"base url", map[string]string{"PASSERELLE_BASE_URL": "localhost"}, []string{"PASSERELLE_BASE_URL"}},
		{"rate limit", map[string]string{"RATE_LIMIT_PER_MINUTE": "0"}, []string{"RATE_LIMIT_PER_MINUTE"}},
		{"production needs a mail relay", map[string]string{"PASSERELLE_ENV": "production", "DATABASE_URL": "postgres://x/y"}, []string{"SMTP_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestSecretsAreMasked(t *testing.T) {
	c, err := config.Load(env(map[string]string{"DATABASE_URL": "postgres://app:s3cret@db:5432/p"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LogValue().String(); strings.Contains(got, "s3cret") {
		t.Errorf("log value leaks the password: %s", got)
	}
}
