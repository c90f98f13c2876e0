// Package server is Passerelle's HTTP edge: the router, the middleware
// chains, the handlers (thin: parse, call one service, render) and the
// http.Server with graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/plan"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/metrics"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/once"
	"passerelle/internal/profile"
	"passerelle/internal/purchase"
	"passerelle/internal/registers"
	"passerelle/internal/search"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/taxonomy"
)

// Deps is everything the handlers need, built once in main.
type Deps struct {
	Config   config.Config
	Logger   *slog.Logger
	DB       *pgxpool.Pool
	Taxonomy *taxonomy.Taxonomy
	Catalog  *i18n.Catalog
	// Jobs enqueues background work (e-mails) in the callers' transactions.
	Jobs jobs.Client
	// Index is the in-memory search index, run by the caller; nil: search in SQL.
	Index *searchindex.Syncer
	// SessionStore keeps the sessions; nil: PostgreSQL (tests put a failing one).
	SessionStore scs.Store
	// Metrics, when set, measures every request (served elsewhere: METRICS_ADDR).
	Metrics *metrics.Metrics
	// Views counts offer views in memory; the caller runs its flushes
	// (indicator.Views.Run) and flushes once after the last request. nil:
	// a counter of its own, written when an SME reads its figures.
	Views *indicator.Views
	// Evidence is the matching's memory of SMEs, run by the caller; nil:
	// rankings read PostgreSQL alone.
	Evidence *matching.Keeper
	// Draining, once true, makes /readyz answer 503 so the load balancer
	// stops sending requests before the server closes (see ServeDraining).
	Draining *atomic.Bool
}

// Server holds the dependencies the handlers share.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	db        *pgxpool.Pool
	tax       *taxonomy.Taxonomy
	catalog   *i18n.Catalog
	members   *member.Service
	offerSvc  *offer.Service
	purchases *purchase.Service
	profiles  *profile.Service
	search    *search.Service
	audit     *audit.Log
	notify    *notify.Service
	// moderation is the staff's one review queue; each domain registers
	// its kind of content in New.
	moderation *moderation.Service
	// indicators are the observatory, the barometer and the figures.
	indicators *indicator.Service
	// plans are the large accounts' yearly progress plans.
	plans    *plan.Service
	draining *atomic.Bool
	metrics  *metrics.Metrics
	sessions *scs.SessionManager
}

// New builds the whole http.Handler of the application.
func New(d Deps) http.Handler {
	s := &Server{cfg: d.Config, log: d.Logger, db: d.DB, tax: d.Taxonomy, catalog: d.Catalog, draining: d.Draining}
	s.metrics = d.Metrics
	if s.draining == nil {
		s.draining = new(atomic.Bool)
	}
	if s.catalog == nil {
		s.catalog = i18n.MustLoad()
	}
	if s.tax == nil {
		s.tax = taxonomy.MustLoad()
	}
	s.notify = notify.New(d.DB, mail.NewOutbox(d.Jobs), s.catalog, d.Config.BaseURL)
	s.members = member.NewService(d.DB, s.tax, s.notify)
	// Staff read reset and invitation links on the mailbox page in
	// development only: anywhere else those links open accounts.
	s.members.RevealSecrets = d.Config.Env == config.EnvDevelopment
	if d.Config.HashSlots > 0 {
		s.members.SetHashSlots(d.Config.HashSlots)
	}
	index := search.NewIndexer(s.tax)
	s.members.Index = index.Refresh
	s.offerSvc = offer.NewService(d.DB, s.tax, index)
	s.offerSvc.Notify = s.notify
	s.profiles = profile.NewService(d.DB, s.tax, index)
	s.search = search.NewService(d.DB)
	if d.Index != nil {
		s.search.UseIndex(d.Index)
	}
	s.audit = audit.NewLog(d.DB)
	s.moderation = moderation.NewService(d.DB, s.notify)
	s.moderation.Register(s.offerSvc.Moderation())
	s.purchases = purchase.NewService(d.DB, s.tax, index, s.notify)
	matcher := matching.NewService(d.DB, s.tax)
	matcher.UseMemory(d.Evidence)
	s.purchases.UseMatcher(matching.ForRequests{Service: matcher, Limit: MatchLimit})
	s.purchases.Invitations = d.Config.Invitations
	s.moderation.Register(s.purchases.Moderation())
	var queue indicator.Enqueuer
	if d.Jobs != nil {
		queue = d.Jobs
	}
	s.indicators = indicator.NewService(d.DB, queue)
	s.plans = plan.NewService(d.DB, s.indicators)
	s.plans.Notify = s.notify
	s.indicators.Notify = s.notify
	s.indicators.Queue = s.moderation
	s.purchases.UseReputations(s.indicators)
	if d.Views != nil {
		s.indicators.Views = d.Views
	}
	s.sessions = newSessions(d.DB, d.Config.Production())
	if d.SessionStore != nil {
		s.sessions.Store = d.SessionStore
	}
	s.sessions.ErrorFunc = s.sessionError
	return s.routes()
}

// Background registers every domain's background jobs on reg: the one list
// of what runs behind the pages. Mail is delivered by sender; only in
// development do sent mails keep their links readable for staff. The
// rankings read part of the evidence from evidence's memory (nil: from
// PostgreSQL alone).
func Background(reg *jobs.Registry, cfg config.Config, db *pgxpool.Pool, tax *taxonomy.Taxonomy, sender mail.Sender, log *slog.Logger, evidence *matching.Keeper) {
	jobs.Periodic[PruneSessionsArgs](reg, time.Hour, func(ctx context.Context) error {
		if _, err := db.Exec(ctx, `DELETE FROM sessions WHERE expiry < current_timestamp`); err != nil {
			return fmt.Errorf("server: prune sessions: %w", err)
		}
		return nil
	})
	jobs.Periodic[once.PruneArgs](reg, 24*time.Hour, func(ctx context.Context) error { return once.Prune(ctx, db) })
	jobs.Periodic[matching.PruneLogArgs](reg, time.Hour, func(ctx context.Context) error { return matching.PruneLog(ctx, db) })
	mail.Register(reg, db, sender, mail.Options{KeepSecrets: cfg.Env == config.EnvDevelopment, Retention: cfg.MailRetention, Log: log})
	search.Register(reg, db, search.NewIndexer(tax))
	requests := purchase.NewService(db, tax, search.NewIndexer(tax), notify.New(db, mail.JobOutbox{}, i18n.MustLoad(), cfg.BaseURL))
	matcher := matching.NewService(db, tax)
	matcher.UseMemory(evidence)
	requests.UseMatcher(matching.ForRequests{Service: matcher, Limit: MatchLimit})
	requests.Invitations = cfg.Invitations
	purchase.Register(reg, requests)
	indicators := indicator.NewService(db, nil)
	indicators.Notify = notify.New(db, mail.JobOutbox{}, i18n.MustLoad(), cfg.BaseURL)
	indicator.Register(reg, indicators)
	registers.Register(reg, db, registers.Config{SireneDir: cfg.SireneDir, DECPURL: cfg.DECPURL}, log)
}

// MatchLimit is how many SMEs a request keeps as its matches.
const MatchLimit = 100

// PruneSessionsArgs is the hourly job that deletes expired sessions
// (exported so a test can run it now).
type PruneSessionsArgs struct{}

func (PruneSessionsArgs) Kind() string { return "sessions.prune" }

// newSessions keeps sessions server-side in PostgreSQL, so any server
// behind the load balancer can serve any user.
func newSessions(db *pgxpool.Pool, production bool) *scs.SessionManager {
	sm := scs.New()
	if db != nil {
		// No cleanup goroutine per server (it would outlive shutdown, and
		// every server would run it): the sessions.prune job deletes
		// expired sessions, once for all servers.
		sm.Store = pgxstore.NewWithCleanupInterval(db, 0)
	}
	sm.Lifetime = 12 * time.Hour
	sm.IdleTimeout = 2 * time.Hour
	sm.Cookie.Name = "passerelle_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = production
	return sm
}

// Serve listens on l until ctx is cancelled, then stops accepting
// connections and lets in-flight requests finish within the configured
// shutdown timeout.
func Serve(ctx context.Context, l net.Listener, h http.Handler, cfg config.Config, log *slog.Logger) error {
	return ServeDraining(ctx, l, h, cfg, log, nil)
}

// ServeDraining is Serve that, when ctx is cancelled, first sets draining
// (the handler's /readyz then answers 503) and keeps serving for the drain
// delay, so the load balancer takes this server out of rotation before its
// listener closes; then it lets in-flight requests finish.
func ServeDraining(ctx context.Context, l net.Listener, h http.Handler, cfg config.Config, log *slog.Logger, draining *atomic.Bool) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	if draining != nil {
		draining.Store(true)
		log.Info("draining: /readyz answers 503", "for", cfg.DrainDelay)
		select {
		case <-time.After(cfg.DrainDelay):
		case err := <-errc:
			return fmt.Errorf("server: %w", err)
		}
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	log.Info("server stopped")
	return nil
}
