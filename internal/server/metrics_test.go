package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/registers"
	"passerelle/internal/server/servertest"
)

// /metrics (served on METRICS_ADDR, not on the public router) reports
// request latencies by route pattern, the database pool, the job queue,
// the outbox and the search index, and the Go runtime.
func TestMetrics(t *testing.T) {
	app := servertest.Start(t)
	c := app.Client()
	if _, err := registers.ImportDECP(context.Background(), app.DB, registers.Source{Name: "decp.json", Data: refdata.DECPOfficial}, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/offres", "/offres", "/offres/424242", "/healthz"} {
		resp, err := c.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp, _ := c.Get(app.URL + "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %d, want 404", resp.StatusCode)
	}
	rec := httptest.NewRecorder()
	app.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`passerelle_http_request_duration_seconds_count{code="2xx",method="GET",route="/offres"} 2`,
		`passerelle_http_request_duration_seconds_count{code="4xx",method="GET",route="/offres/{id}"} 1`,
		`passerelle_db_pool_max_connections{pool="web"}`,
		`passerelle_mail_unsent 0`,
		`passerelle_search_index_ready`,
		`passerelle_search_index_lag_changes`,
		`go_memstats_heap_alloc_bytes`,
		`passerelle_register_import_rows{register="decp",what="read"} 6114`,
		`passerelle_register_import_ok{register="decp"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "424242") {
		t.Error("a raw path became a label: one series per offer")
	}
}
