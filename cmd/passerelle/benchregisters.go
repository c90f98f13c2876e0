package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/registers"
	"passerelle/internal/tools/registersgen"
)

// runBenchRegisters is `passerelle bench-registers`: it writes registers
// of national size in the published layouts, imports them with
// `passerelle import` in a child process (its peak resident memory read
// from the kernel), imports the same files again, then files with 1 % of
// rows changed, and reports rows per second, peak memory and what each
// run wrote, with the extrapolation to the national files.
func runBenchRegisters(ctx context.Context, cfg config.Config, args []string, benchURL string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-registers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := registersgen.Options{Seed: 1}
	fs.IntVar(&o.Units, "units", 5_000_000, "legal units of the generated StockUniteLegale")
	fs.IntVar(&o.Establishments, "establishments", 10_000_000, "establishments of the generated StockEtablissement")
	fs.IntVar(&o.Contracts, "contracts", 1_500_000, "contracts of the generated DECP")
	fs.IntVar(&o.Buyers, "buyers", 20_000, "public buyers among the units")
	fresh := fs.Bool("fresh", true, "empty the registers of the benchmark database first, so the first import is one")
	dir := fs.String("dir", filepath.Join(cfg.DataDir, "registers-bench"), "where the files are written (about 4 GB at the default size)")
	out := fs.String("out", filepath.Join(".artifacts", "bench-registers.md"), "where to write the Markdown report too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Production() {
		return errors.New("bench-registers: refused when PASSERELLE_ENV=production")
	}
	url, err := measureDatabase(ctx, cfg, benchURL, "passerelle_bench", 0, false, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if *fresh {
		pool, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		_, err = pool.Exec(ctx, `TRUNCATE sirene_units, sirene_establishments, decp_contracts, decp_winners, public_buyer_shares,
			public_shares_by_place, public_buyer_years, public_buyers, decp_affinity`)
		pool.Close()
		if err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type result struct {
		what      string
		rows      int64
		wall      time.Duration
		rssKiB    int64
		report    registers.Report
		fileBytes int64
	}
	var results []result
	importRun := func(what string, args ...string) error {
		cmd := exec.CommandContext(ctx, self, append([]string{"import"}, args...)...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "LOG_LEVEL=warn")
		var so bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, io.Discard
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w: %s", what, err, so.String())
		}
		wall := time.Since(start)
		lines := strings.Split(strings.TrimSpace(so.String()), "\n")
		var rep registers.Report
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
			return fmt.Errorf("%s: report: %w", what, err)
		}
		var size int64
		for _, a := range args[1:] {
			if st, err := os.Stat(a); err == nil {
				size += st.Size()
			}
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		r := result{what: what, rows: rep.Read, wall: wall, rssKiB: ru.Maxrss, report: rep, fileBytes: size}
		results = append(results, r)
		fmt.Fprintf(stderr, "%s: %d rows in %s (%.0f rows/s), peak RSS %d MiB, %s\n", what, rep.Read, wall.Round(time.Second),
			float64(rep.Read)/wall.Seconds(), ru.Maxrss/1024, rep.JSON())
		return nil
	}
	gen := func(changed float64) (registersgen.Files, time.Duration, error) {
		o.Changed = changed
		start := time.Now()
		fmt.Fprintf(stderr, "Writing %d units, %d establishments, %d contracts (%.0f %% changed) in %s…\n", o.Units, o.Establishments, o.Contracts, changed*100, *dir)
		f, err := registersgen.Write(*dir, o)
		return f, time.Since(start), err
	}
	f, took, err := gen(0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "written in %s\n", took.Round(time.Second))
	steps := []struct {
		what string
		args []string
	}{
		{"SIRENE, first import", []string{"sirene", f.Units, f.Establishments}},
		{"SIRENE, same files again", []string{"sirene", f.Units, f.Establishments}},
		{"DECP, first import", []string{"decp", f.DECP}},
		{"DECP, same file again", []string{"decp", f.DECP}},
	}
	for _, s := range steps {
		if err := importRun(s.what, s.args...); err != nil {
			return err
		}
	}
	if f, _, err = gen(0.01); err != nil {
		return err
	}
	if err := importRun("SIRENE, 1 % of rows changed", "sirene", f.Units, f.Establishments); err != nil {
		return err
	}
	if err := importRun("DECP, 1 % of contracts changed", "decp", f.DECP); err != nil {
		return err
	}
	if f, _, err = gen(0); err != nil { // leave the files as the register holds them
		return err
	}

	rep, err := reportFile(*out)
	if err != nil {
		return err
	}
	defer rep.Close()
	w := bufio.NewWriter(io.MultiWriter(stdout, rep))
	host, _ := os.Hostname()
	fmt.Fprintf(w, "## Registers import — %s, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), host)
	fmt.Fprintf(w, "Machine: %d CPU, Go %s. Command: `./bin/passerelle bench-registers -units %d -establishments %d -contracts %d`.\n\n",
		runtime.NumCPU(), runtime.Version(), o.Units, o.Establishments, o.Contracts)
	fmt.Fprintln(w, "| run | records read | file size | time | records/s | peak RSS | written | unchanged | removed | duplicates | rejected |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %.1f GB | %s | %.0f | %d MiB | %d | %d | %d | %d | %d |\n", r.what, r.rows, float64(r.fileBytes)/1e9,
			r.wall.Round(100*time.Millisecond), float64(r.rows)/r.wall.Seconds(), r.rssKiB/1024, r.report.Written, r.report.Unchanged,
			r.report.Removed, r.report.Duplicates, r.report.RejectedTotal())
	}
	first := results[0]
	rate := float64(first.rows) / first.wall.Seconds()
	again := results[1]
	changed := results[4]
	national := 29_000_000.0 + 41_000_000.0
	fmt.Fprintf(w, "\nExtrapolation to the national stock files (about 29 M units + 41 M establishments = 70 M rows), linear in rows: "+
		"first import %.0f min at %.0f rows/s; an unchanged re-import %.0f min; a re-import with 1 %% changed %.0f min.\n",
		national/rate/60, rate, national/(float64(again.rows)/again.wall.Seconds())/60, national/(float64(changed.rows)/changed.wall.Seconds())/60)
	return w.Flush()
}
