// Package metrics is what operators read on /metrics, in the Prometheus
// text format (the official client library): request latencies by route,
// database pools, the job queue, unsent mail, the search index, and the
// Go runtime (memory, goroutines). It is served on its own listen address
// (METRICS_ADDR), never on the public one.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"passerelle/internal/platform/jobs"
	"passerelle/internal/registers"
	"passerelle/internal/search/searchindex"
)

// Metrics holds the registry and the request histogram.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
}

// Sources are what the metrics read at each scrape.
type Sources struct {
	Pools map[string]*pgxpool.Pool // by name: "web", "background"
	DB    *pgxpool.Pool            // the database the queue and the outbox are read from
	Index *searchindex.Syncer      // nil: no in-memory index
	Queue *jobs.Quiet              // the job queue's view of the database; nil: none
	Log   *slog.Logger
}

// New registers every metric.
func New(src Sources) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "passerelle_http_request_duration_seconds",
		Help:    "Time to answer a request, by route pattern, method and status class.",
		Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	m.registry.MustRegister(m.requests,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{src: src})
	return m
}

// Middleware measures each request under its chi route pattern (never the
// raw path: ids would make one series per offer).
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status/100)+"xx").Observe(time.Since(start).Seconds())
	})
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

var (
	poolDesc = prometheus.NewDesc("passerelle_db_pool_connections", "Connections of a database pool, by state.",
		[]string{"pool", "state"}, nil)
	poolMax  = prometheus.NewDesc("passerelle_db_pool_max_connections", "Size of a database pool.", []string{"pool"}, nil)
	poolWait = prometheus.NewDesc("passerelle_db_pool_wait_seconds_total", "Time spent waiting for a connection.",
		[]string{"pool"}, nil)
	jobsDesc   = prometheus.NewDesc("passerelle_jobs", "Background jobs by kind and state (queue depth, failures).", []string{"kind", "state"}, nil)
	unsentDesc = prometheus.NewDesc("passerelle_mail_unsent", "Mails in the outbox not delivered yet.", nil, nil)
	failedDesc = prometheus.NewDesc("passerelle_mail_failing", "Undelivered mails whose last attempt failed.", nil, nil)
	oldestDesc = prometheus.NewDesc("passerelle_mail_oldest_unsent_seconds", "Age of the oldest undelivered mail.", nil, nil)
	indexDocs  = prometheus.NewDesc("passerelle_search_index_documents", "Documents in the in-memory search index.", []string{"list", "kind"}, nil)
	indexBytes = prometheus.NewDesc("passerelle_search_index_bytes", "Estimated memory of the index's documents, all and dead copies.", []string{"list", "kind"}, nil)
	indexReady = prometheus.NewDesc("passerelle_search_index_ready", "1 when the in-memory search index is built.", nil, nil)
	regRows    = prometheus.NewDesc("passerelle_register_import_rows", "What the latest import of a register did (read, kept, written, unchanged, removed, rejected, duplicates).", []string{"register", "what"}, nil)
	regOK      = prometheus.NewDesc("passerelle_register_import_ok", "1 when the latest import of a register succeeded.", []string{"register"}, nil)
	regWhen    = prometheus.NewDesc("passerelle_register_import_finished_timestamp_seconds", "When the latest import of a register finished.", []string{"register"}, nil)
	regSeconds = prometheus.NewDesc("passerelle_register_import_duration_seconds", "How long the latest import of a register took.", []string{"register"}, nil)
	dbUp       = prometheus.NewDesc("passerelle_database_up", "0 while the job queue finds the database unreachable.", nil, nil)
	dbOutages  = prometheus.NewDesc("passerelle_database_outages_total", "Database outages the job queue went through.", nil, nil)
	dbQuieted  = prometheus.NewDesc("passerelle_jobs_log_lines_quieted_total", "Job queue warnings and errors counted instead of logged during outages.", nil, nil)
	indexLag   = prometheus.NewDesc("passerelle_search_index_lag_changes", "Change-log entries not applied to the index yet.", nil, nil)
)

// dbCollector reads the database and the index at each scrape.
type dbCollector struct{ src Sources }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolDesc, poolMax, poolWait, jobsDesc, unsentDesc, failedDesc, oldestDesc, indexDocs, indexBytes, indexReady, indexLag, regRows, regOK, regWhen, regSeconds,
		dbUp, dbOutages, dbQuieted} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.src.Pools {
		st := p.Stat()
		ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(st.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(st.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(st.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.AcquireDuration().Seconds(), name)
	}
	if q := c.src.Queue; q != nil {
		up := 1.0
		if q.Down() {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(dbUp, prometheus.GaugeValue, up)
		ch <- prometheus.MustNewConstMetric(dbOutages, prometheus.CounterValue, float64(q.Outages()))
		ch <- prometheus.MustNewConstMetric(dbQuieted, prometheus.CounterValue, float64(q.Suppressed()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if c.src.DB != nil {
		c.database(ctx, ch)
	}
	if x := c.src.Index; x != nil {
		ready := 0.0
		if x.Ready() {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(indexReady, prometheus.GaugeValue, ready)
		for _, list := range []string{searchindex.Offers, searchindex.SMEs} {
			if ix := x.Index(list); ix != nil {
				ch <- prometheus.MustNewConstMetric(indexDocs, prometheus.GaugeValue, float64(ix.Len()), list, "live")
				ch <- prometheus.MustNewConstMetric(indexDocs, prometheus.GaugeValue, float64(ix.Dead()), list, "dead")
				total, dead := ix.Memory()
				ch <- prometheus.MustNewConstMetric(indexBytes, prometheus.GaugeValue, float64(total), list, "all")
				ch <- prometheus.MustNewConstMetric(indexBytes, prometheus.GaugeValue, float64(dead), list, "dead")
			}
		}
		if c.src.DB != nil {
			var last int64
			if err := c.src.DB.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM search_changes`).Scan(&last); err == nil {
				ch <- prometheus.MustNewConstMetric(indexLag, prometheus.GaugeValue, float64(max(last-x.Applied(), 0)))
			}
		}
	}
}

// database reads the queue and the outbox; a failure leaves those series
// out of this scrape (and is logged), it never fails the scrape.
func (c *dbCollector) database(ctx context.Context, ch chan<- prometheus.Metric) {
	rows, err := c.src.DB.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state`)
	if err == nil {
		for rows.Next() {
			var kind, state string
			var n int64
			if rows.Scan(&kind, &state, &n) == nil {
				ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), kind, state)
			}
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil && c.src.Log != nil {
		c.src.Log.Warn("metrics: job queue", "err", err)
	}
	if runs, err := registers.Latest(ctx, c.src.DB); err == nil {
		for _, r := range runs {
			rep := r.Report
			for what, n := range map[string]int64{"read": rep.Read, "kept": rep.Units + rep.Establishments + rep.Contracts,
				"written": rep.Written, "unchanged": rep.Unchanged, "removed": rep.Removed, "rejected": rep.RejectedTotal(), "duplicates": rep.Duplicates} {
				ch <- prometheus.MustNewConstMetric(regRows, prometheus.GaugeValue, float64(n), r.Register, what)
			}
			ok := 0.0
			if r.OK != nil && *r.OK {
				ok = 1
			}
			ch <- prometheus.MustNewConstMetric(regOK, prometheus.GaugeValue, ok, r.Register)
			if r.FinishedAt != nil {
				ch <- prometheus.MustNewConstMetric(regWhen, prometheus.GaugeValue, float64(r.FinishedAt.Unix()), r.Register)
			}
			ch <- prometheus.MustNewConstMetric(regSeconds, prometheus.GaugeValue, rep.Seconds, r.Register)
		}
	} else if c.src.Log != nil {
		c.src.Log.Warn("metrics: registers", "err", err)
	}
	var unsent, failing int64
	var oldest float64
	if err := c.src.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE last_error <> ''),
			coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM emails WHERE sent_at IS NULL`).Scan(&unsent, &failing, &oldest); err != nil {
		if c.src.Log != nil {
			c.src.Log.Warn("metrics: outbox", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(unsentDesc, prometheus.GaugeValue, float64(unsent))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(failing))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest)
}
