package coach

import (
	"context"
	"testing"
	"time"

	"passerelle/internal/platform/postgres/pgtest"
)

// Stale norms are served at once while they are measured again in the
// background; the new ones then replace them.
func TestStaleNormsAreServedWhileMeasuredAgain(t *testing.T) {
	s := NewService(pgtest.Pool(t))
	ctx := context.Background()
	if _, err := s.Norms(ctx); err != nil { // the first call measures (no requests: the defaults)
		t.Fatal(err)
	}
	s.mu.Lock()
	s.norms, s.loadedAt = Norms{minDays: 99}, time.Now().Add(-2*NormsTTL)
	s.mu.Unlock()
	n, err := s.Norms(ctx)
	if err != nil || n.minDays != 99 {
		t.Fatalf("stale norms not served at once: %+v, %v", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		done, fresh := !s.refreshing, s.norms.minDays
		s.mu.Unlock()
		if done {
			if fresh != 0 {
				t.Fatalf("the measure did not replace the stale norms: minDays %d", fresh)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the norms were not measured again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d, src := s.norms.MinDays("40k_100k"); d != 15 || src.Measured != 0 {
		t.Errorf("after the refresh: %d days from %+v, want the default 15", d, src)
	}
}
