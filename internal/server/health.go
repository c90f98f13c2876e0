package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"passerelle/internal/platform/postgres"
)

// healthz answers 200 while the process is alive (liveness).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database is reachable and its schema is at
// the head migration, 503 otherwise (readiness: take this server out of
// the load balancer, but keep it running: the pool reconnects by itself).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := postgres.Ready(ctx, s.db); err != nil {
		// The details (addresses, users, driver messages) go to the log
		// only: /readyz is reachable by anyone who reaches the server.
		s.log.Warn("not ready", "err", err)
		reason := "database"
		if errors.Is(err, postgres.ErrNotMigrated) {
			reason = "schema"
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "migration": postgres.HeadVersion()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
