package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/search/searchindex"
)

// Start is what a fresh process measures of its search index's start:
// the time from the process's start to the index ready, and its memory
// once ready (resident, and the Go heap in use).
type Start struct {
	FromSnapshot bool          `json:"from_snapshot"`
	Ready        time.Duration `json:"ready_ns"`
	RSS          int64         `json:"rss"`
	Heap         int64         `json:"heap"`
	Offers       int           `json:"offers"`
	SMEs         int           `json:"smes"`
	// Sizes are the bytes of each part of both indexes (Index.Sizes).
	Sizes map[string]int64 `json:"sizes"`
}

// processStart is when this process started, for Start.Ready.
var processStart = time.Now()

// MeasureStart is the hidden `passerelle bench-start` command: in this
// fresh process, build the indexes as a server does at start (from the
// latest snapshot unless scratch) and print what it cost as JSON.
func MeasureStart(ctx context.Context, databaseURL string, scratch bool, out io.Writer) error {
	db, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	sy := searchindex.NewSyncer(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s := Start{}
	if scratch {
		err = sy.Rebuild(ctx)
	} else {
		err = sy.LoadSnapshot(ctx)
		s.FromSnapshot = true
	}
	if err != nil {
		return err
	}
	s.Ready = time.Since(processStart)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.Heap = int64(m.HeapInuse)
	s.RSS = residentBytes()
	s.Offers, s.SMEs = sy.Index(searchindex.Offers).Len(), sy.Index(searchindex.SMEs).Len()
	s.Sizes = map[string]int64{}
	for _, list := range []string{searchindex.Offers, searchindex.SMEs} {
		for k, v := range sy.Index(list).Sizes() {
			s.Sizes[k] += v
		}
	}
	return json.NewEncoder(out).Encode(s)
}

// residentBytes is this process's resident memory (VmRSS), or -1.
func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// startIn runs MeasureStart in a new process of this binary, so the
// memory measured is a serving process's, not the benchmark's.
func startIn(ctx context.Context, databaseURL string, scratch bool) (Start, error) {
	self, err := os.Executable()
	if err != nil {
		return Start{}, err
	}
	args := []string{"bench-start"}
	if scratch {
		args = append(args, "-scratch")
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), "BENCH_START_DATABASE_URL="+databaseURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Start{}, fmt.Errorf("bench: index start (%v): %w: %s", args, err, stderr.String())
	}
	var s Start
	err = json.Unmarshal(stdout.Bytes(), &s)
	return s, err
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
