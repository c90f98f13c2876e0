// Package registers imports the national registers as they are published
// — INSEE's SIRENE stock files (legal units and establishments) and the
// consolidated DECP (public contracts) — and answers what the platform
// asks of them: who is behind a SIREN (sign-up, staff's checks), which
// public contracts a company won (references), and, for every public
// buyer, the share of its contracts that went to PME / ETI / GE (the
// observatory).
//
// An import streams its file: rows are checked in Go, copied into a
// temporary table, then merged into the register in the same transaction,
// so readers see the previous register or the new one, never half of it;
// a run killed at any point leaves the previous data whole. A row whose
// imported fields did not change is not written again.
package registers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Report is what an import did; its JSON is the last line the commands
// print, and what the staff page and /metrics show.
type Report struct {
	Register       string           `json:"register"`
	Read           int64            `json:"read"`           // records read (lines or JSON records)
	Units          int64            `json:"units"`          // SIRENE: legal units kept
	Establishments int64            `json:"establishments"` // SIRENE: establishments kept
	Contracts      int64            `json:"contracts"`      // DECP: contracts kept (one per buyer and id)
	Written        int64            `json:"written"`        // rows inserted or changed
	Unchanged      int64            `json:"unchanged"`      // rows already as in the file
	Removed        int64            `json:"removed"`        // rows no longer in the register
	Rejected       map[string]int64 `json:"rejected"`       // skipped lines, per reason
	Duplicates     int64            `json:"duplicates"`     // records of a key seen earlier
	Damaged        int64            `json:"damaged"`        // DECP: records holding U+FFFD, kept as published
	Seconds        float64          `json:"seconds"`
}

func (r *Report) reject(reason string) {
	if r.Rejected == nil {
		r.Rejected = map[string]int64{}
	}
	r.Rejected[reason]++
}

// RejectedTotal adds up the skipped lines.
func (r Report) RejectedTotal() int64 {
	var n int64
	for _, v := range r.Rejected {
		n += v
	}
	return n
}

// Reasons lists the rejection reasons, most frequent first.
func (r Report) Reasons() []string {
	out := make([]string, 0, len(r.Rejected))
	for k := range r.Rejected {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if r.Rejected[out[i]] != r.Rejected[out[j]] {
			return r.Rejected[out[i]] > r.Rejected[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// JSON is the report on one line, with the counts of its register only
// (units and establishments, or contracts and damaged records).
func (r Report) JSON() string {
	if r.Rejected == nil {
		r.Rejected = map[string]int64{}
	}
	b, _ := json.Marshal(r)
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return string(b)
	}
	switch r.Register {
	case "sirene":
		delete(m, "contracts")
		delete(m, "damaged")
	case "decp":
		delete(m, "units")
		delete(m, "establishments")
	}
	b, _ = json.Marshal(m)
	return string(b)
}

// Source is one published file: a path, an http(s) URL, or bytes in
// memory (the embedded sample). A zip archive must hold one CSV or JSON
// file, which is read.
type Source struct {
	Name string
	Data []byte // when set, read instead of Name
}

// FileSource names a path or URL.
func FileSource(name string) Source { return Source{Name: name} }

// Progress is told how far a read went: bytes of the file and records.
type Progress interface {
	Start(name string, size int64)
	Add(bytes int64, records int64)
	Done()
}

type noProgress struct{}

func (noProgress) Start(string, int64) {}
func (noProgress) Add(int64, int64)    {}
func (noProgress) Done()               {}

// open gives the bytes of the source (the file inside a zip), its size
// when known, and a closer. A URL is downloaded to a temporary file first
// (the zip reader needs random access; a CSV is streamed from it too).
func (s Source) open(ctx context.Context, want string) (io.ReadCloser, int64, error) {
	if s.Data != nil {
		if isZip(s.Data) {
			return openZip(bytes.NewReader(s.Data), int64(len(s.Data)), s.Name, want, nil)
		}
		return io.NopCloser(bytes.NewReader(s.Data)), int64(len(s.Data)), nil
	}
	path := s.Name
	var cleanup func()
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		tmp, err := download(ctx, path)
		if err != nil {
			return nil, 0, err
		}
		path, cleanup = tmp, func() { os.Remove(tmp) }
	}
	f, err := os.Open(path)
	if err != nil {
		if cleanup != nil {
			cleanup()
		}
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, err
	}
	closeAll := func() error {
		err := f.Close()
		if cleanup != nil {
			cleanup()
		}
		return err
	}
	if isZip(head[:n]) {
		return openZip(f, st.Size(), s.Name, want, closeAll)
	}
	return readCloser{Reader: f, close: closeAll}, st.Size(), nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

func isZip(b []byte) bool { return len(b) >= 4 && string(b[:4]) == "PK\x03\x04" }

// openZip reads the one member of the archive whose name ends in want
// (".csv" or ".json").
func openZip(r io.ReaderAt, size int64, name, want string, closeOuter func() error) (io.ReadCloser, int64, error) {
	fail := func(err error) (io.ReadCloser, int64, error) {
		if closeOuter != nil {
			closeOuter()
		}
		return nil, 0, err
	}
	z, err := zip.NewReader(r, size)
	if err != nil {
		return fail(fmt.Errorf("%s: not a readable zip archive (truncated?): %w", name, err))
	}
	var found []*zip.File
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
		if !f.FileInfo().IsDir() && strings.HasSuffix(strings.ToLower(f.Name), want) {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		return fail(fmt.Errorf("%s: the zip archive must hold exactly one %s file; it holds %q", name, want, names))
	}
	rc, err := found[0].Open()
	if err != nil {
		return fail(fmt.Errorf("%s: %s: %w", name, found[0].Name, err))
	}
	return readCloser{Reader: rc, close: func() error {
		err := rc.Close()
		if closeOuter != nil {
			closeOuter()
		}
		return err
	}}, int64(found[0].UncompressedSize64), nil
}

func download(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: %s", url, resp.Status)
	}
	f, err := os.CreateTemp("", "passerelle-register-*"+filepath.Ext(url))
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// counting tells the progress how many bytes were read.
type counting struct {
	r io.Reader
	p Progress
}

func (c counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Add(int64(n), 0)
	return n, err
}

// copyWriter writes rows in COPY's text format.
type copyWriter struct {
	w     *bufio.Writer
	first bool
}

// Null is a field with no value.
const null = "\x00null"

func (c *copyWriter) field(s string) {
	if !c.first {
		c.w.WriteByte('\t')
	}
	c.first = false
	if s == null {
		c.w.WriteString(`\N`)
		return
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; b {
		case '\\':
			c.w.WriteString(`\\`)
		case '\t':
			c.w.WriteString(`\t`)
		case '\n':
			c.w.WriteString(`\n`)
		case '\r':
			c.w.WriteString(`\r`)
		default:
			c.w.WriteByte(b)
		}
	}
}

func (c *copyWriter) end() {
	c.w.WriteByte('\n')
	c.first = true
}

// copyRows streams what produce writes into table (columns cols) of the
// transaction's connection, and returns the rows copied. produce's own
// error wins over the COPY's.
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []string, produce func(w *copyWriter) error) (int64, error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		err := produce(&copyWriter{w: bw, first: true})
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		errc <- err
	}()
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN", table, strings.Join(cols, ", ")))
	pr.CloseWithError(errors.New("copy ended"))
	if perr := <-errc; perr != nil {
		return 0, perr
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// Lock keys of the imports: one import of a register at a time, whatever
// the server or command running it.
const (
	lockSirene = 7231_0001
	lockDECP   = 7231_0002
)

// bulkSettings tunes the import's transaction: memory for its sorts and
// hashes, no statement timeout, and no nested loops — every statement
// joins millions of rows, and a plan made on stale statistics (a table
// just emptied) must not probe one side row by row.
func bulkSettings(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'; SET LOCAL statement_timeout = 0; SET LOCAL enable_nestloop = off`)
	return err
}

// record writes the run's row before it starts and its result after, each
// outside the import's transaction (a failed run is recorded too).
func record(ctx context.Context, db *pgxpool.Pool, register, source string, run func() (Report, error)) (Report, error) {
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO register_imports (register, source) VALUES ($1, $2) RETURNING id`, register, source).Scan(&id); err != nil {
		return Report{}, fmt.Errorf("registers: record run: %w", err)
	}
	start := time.Now()
	rep, err := run()
	rep.Register = register
	rep.Seconds = time.Since(start).Seconds()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	// The run's context may be cancelled: its result is still written.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, werr := db.Exec(wctx, `UPDATE register_imports SET finished_at = now(), ok = $2, report = $3, error = $4 WHERE id = $1`,
		id, err == nil, rep.JSON(), msg); werr != nil && err == nil {
		err = fmt.Errorf("registers: record run: %w", werr)
	}
	return rep, err
}
