// Package config reads Passerelle's settings from the environment into one
// typed struct, applies defaults and refuses bad values at start.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment names where the program runs; production tightens defaults.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// Config is every setting the server needs. It is built once by Load and
// passed explicitly; nothing reads the environment after start.
type Config struct {
	Env             string        // PASSERELLE_ENV: development, test or production
	Addr            string        // derived from HOST and PORT
	BaseURL         string        // PASSERELLE_BASE_URL: absolute URL users reach, used in e-mails
	DatabaseURL     string        // DATABASE_URL: empty means "start the private development cluster"
	DataDir         string        // PASSERELLE_DATA_DIR: where the private cluster lives
	LogFormat       string        // LOG_FORMAT: text or json
	LogLevel        slog.Level    // LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long in-flight requests may finish
	DrainDelay      time.Duration // SHUTDOWN_DRAIN: how long /readyz says 503 before the listener closes
	DBMaxConns      int           // DB_MAX_CONNS: connections of the web requests' pool (the background pool has 4)
	SMTPPlain       bool          // SMTP_TLS=off: send without STARTTLS (a relay on localhost); otherwise STARTTLS is required
	MetricsAddr     string        // METRICS_ADDR: host:port of /metrics (Prometheus), never the public address; empty: off
	RequestTimeout  time.Duration // REQUEST_TIMEOUT: upper bound on one request's handler time
	SMTPAddr        string        // SMTP_ADDR: host:port of the mail relay; empty in development: mails are logged and shown to staff
	MailFrom        string        // MAIL_FROM: sender of every notification
	RateLimit       int           // RATE_LIMIT_PER_MINUTE: sign-in, sign-up and reset attempts per IP and minute
	HashSlots       int           // PASSWORD_HASH_SLOTS: passwords hashed or checked at once (argon2id, 19 MiB each)
	TrustedProxies  []string      // TRUSTED_PROXIES: CIDRs of the proxies whose X-Forwarded-For names the client
	MailRetention   time.Duration // MAIL_RETENTION: how long sent mail stays in the outbox
	Invitations     Invitations
	SireneDir       string // SIRENE_DIR: folder or URL prefix of INSEE's stock files, imported daily; empty: off
	DECPURL         string // DECP_URL: path or URL of the consolidated DECP, imported daily; empty: off
}

// Invitations are how matched SMEs are invited to a request by mail: a
// first batch when it opens, then at most one batch a day down the
// ranking, until enough SMEs are interested, the ranking falls below the
// minimum score, or the deadline; and no SME more than a number a week.
type Invitations struct {
	FirstBatch int     // INVITE_FIRST_BATCH
	DailyBatch int     // INVITE_DAILY_BATCH
	Enough     int     // INVITE_ENOUGH_INTERESTED
	MinScore   float64 // INVITE_MIN_SCORE
	PerWeek    int     // INVITE_PER_SME_WEEK
}

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests). It returns every invalid value at once so an operator fixes them in
// one go.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key, def string) time.Duration {
		raw := get(key, def)
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 15s", key, raw))
		}
		return d
	}

	c := Config{
		Env:             get("PASSERELLE_ENV", EnvDevelopment),
		DatabaseURL:     get("DATABASE_URL", ""),
		DataDir:         get("PASSERELLE_DATA_DIR", ".data"),
		LogFormat:       get("LOG_FORMAT", ""),
		ShutdownTimeout: dur("SHUTDOWN_TIMEOUT", "15s"),
		RequestTimeout:  dur("REQUEST_TIMEOUT", "30s"),
		SMTPAddr:        get("SMTP_ADDR", ""),
		MailFrom:        get("MAIL_FROM", "Passerelle <no-reply@passerelle.test>"),
		MailRetention:   dur("MAIL_RETENTION", "720h"),
		MetricsAddr:     get("METRICS_ADDR", ""),
		SireneDir:       get("SIRENE_DIR", ""),
		DECPURL:         get("DECP_URL", ""),
	}
	rlRaw := get("RATE_LIMIT_PER_MINUTE", "10")
	if n, err := strconv.Atoi(rlRaw); err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("RATE_LIMIT_PER_MINUTE=%q: want a whole number of at least 1", rlRaw))
	} else {
		c.RateLimit = n
	}

	for _, p := range strings.Split(get("TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR prefix (e.g. 10.0.0.0/8, 127.0.0.1/32)", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	// Production drains for 5 s by default (a load balancer's check
	// interval); a workstation stops at once.
	drainDef := "0s"
	if c.Env == EnvProduction {
		drainDef = "5s"
	}
	if d, err := time.ParseDuration(get("SHUTDOWN_DRAIN", drainDef)); err != nil || d < 0 {
		errs = append(errs, fmt.Errorf("SHUTDOWN_DRAIN=%q: want a duration such as 5s, or 0s", get("SHUTDOWN_DRAIN", drainDef)))
	} else {
		c.DrainDelay = d
	}
	mcRaw := get("DB_MAX_CONNS", "20")
	if n, err := strconv.Atoi(mcRaw); err != nil || n < 2 || n > 1000 {
		errs = append(errs, fmt.Errorf("DB_MAX_CONNS=%q: want a whole number from 2 to 1000", mcRaw))
	} else {
		c.DBMaxConns = n
	}
	switch v := get("SMTP_TLS", "required"); v {
	case "required":
	case "off":
		c.SMTPPlain = true
	default:
		errs = append(errs, fmt.Errorf("SMTP_TLS=%q: want required or off", v))
	}
	count := func(key, def string, lo, hi int) int {
		raw := get(key, def)
		n, err := strconv.Atoi(raw)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, raw, lo, hi))
		}
		return n
	}
	c.Invitations = Invitations{FirstBatch: count("INVITE_FIRST_BATCH", "10", 1, 1000), DailyBatch: count("INVITE_DAILY_BATCH", "10", 1, 1000),
		Enough: count("INVITE_ENOUGH_INTERESTED", "5", 1, 1000), PerWeek: count("INVITE_PER_SME_WEEK", "5", 1, 100)}
	if f, err := strconv.ParseFloat(get("INVITE_MIN_SCORE", "1"), 64); err != nil || f < 0 {
		errs = append(errs, fmt.Errorf("INVITE_MIN_SCORE=%q: want a number of at least 0", get("INVITE_MIN_SCORE", "1")))
	} else {
		c.Invitations.MinScore = f
	}
	hsRaw := get("PASSWORD_HASH_SLOTS", "8")
	if n, err := strconv.Atoi(hsRaw); err != nil || n < 1 || n > 256 {
		errs = append(errs, fmt.Errorf("PASSWORD_HASH_SLOTS=%q: want a whole number from 1 to 256", hsRaw))
	} else {
		c.HashSlots = n
	}

	switch c.Env {
	case EnvDevelopment, EnvTest, EnvProduction:
	default:
		errs = append(errs, fmt.Errorf("PASSERELLE_ENV=%q: want development, test or production", c.Env))
	}

	host := get("HOST", "127.0.0.1")
	if c.Env == EnvProduction {
		host = get("HOST", "0.0.0.0")
	}
	portRaw := get("PORT", "8080")
	port, err := strconv.Atoi(portRaw)
	if err != nil || port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("PORT=%q: want a number from 0 to 65535", portRaw))
	}
	c.Addr = fmt.Sprintf("%s:%d", host, port)

	c.BaseURL = strings.TrimRight(get("PASSERELLE_BASE_URL", fmt.Sprintf("http://localhost:%d", port)), "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("PASSERELLE_BASE_URL=%q: want an absolute http(s) URL", c.BaseURL))
	}

	if c.LogFormat == "" {
		c.LogFormat = "text"
		if c.Env == EnvProduction {
			c.LogFormat = "json"
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	levelRaw := get("LOG_LEVEL", "info")
	if err := c.LogLevel.UnmarshalText([]byte(levelRaw)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", levelRaw))
	}

	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL: want a postgres:// URL"))
		}
	}
	if c.Env == EnvProduction && c.SMTPAddr == "" {
		errs = append(errs, errors.New("SMTP_ADDR: required when PASSERELLE_ENV=production"))
	}
	if c.Env == EnvProduction && c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL: required when PASSERELLE_ENV=production"))
	}

	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return c, nil
}

// Production reports whether production defaults (secure cookies, no demo
// data) apply.
func (c Config) Production() bool { return c.Env == EnvProduction }

// LogValue shows the configuration in the start-up log with secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("addr", c.Addr),
		slog.String("base_url", c.BaseURL),
		slog.String("database_url", MaskURL(c.DatabaseURL)),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("shutdown_drain", c.DrainDelay),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.String("smtp_addr", c.SMTPAddr),
		slog.Int("rate_limit_per_minute", c.RateLimit),
		slog.Int("password_hash_slots", c.HashSlots),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("sirene_dir", c.SireneDir),
		slog.String("decp_url", c.DECPURL),
		slog.Bool("smtp_plain", c.SMTPPlain),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Any("invitations", c.Invitations),
	)
}

// MaskURL hides the password of a connection URL.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}
