package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"passerelle/internal/platform/postgres/pgtest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// indicatorsApp is the application with the demo data and a client per role.
type indicatorsApp struct {
	*servertest.App
	sme, buyer, staff *http.Client
}

func startIndicators(t *testing.T) indicatorsApp {
	t.Helper()
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	return indicatorsApp{App: app, sme: signInAs(t, app, demo.SMEEmail), buyer: signInAs(t, app, "acheteur@passerelle.test"),
		staff: signInAs(t, app, "equipe@passerelle.test")}
}

// upload posts a file to the import form as a browser does.
func upload(t *testing.T, c *http.Client, u, name string, data []byte) (*http.Response, *goquery.Document) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = w.Close()
	resp, err := c.Post(u, w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp, doc
}

// waitImport follows an import's page until its job is done with it.
func waitImport(t *testing.T, c *http.Client, u string) *goquery.Document {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, doc := get(t, c, u)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
		if doc.Find("[data-testid=progress]").Length() == 0 {
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import at %s never finished", u)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readCSV(t *testing.T, c *http.Client, u string) [][]string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%s: %d %s", u, resp.StatusCode, b)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// tableRows reads a data table as text cells, header row first.
func tableRows(doc *goquery.Selection) [][]string {
	var rows [][]string
	doc.Find("tr").Each(func(_ int, tr *goquery.Selection) {
		var row []string
		tr.Find("th, td").Each(func(_ int, c *goquery.Selection) { row = append(row, strings.TrimSpace(c.Text())) })
		rows = append(rows, row)
	})
	return rows
}

// TestImportThroughThePages: staff upload a file with errors (the page
// lists them by line, nothing is written), then a good file in Excel's
// format; the preview, the confirmation, and the observatory's chart and
// its CSV show the new year.
func TestImportThroughThePages(t *testing.T) {
	a := startIndicators(t)
	ctx := context.Background()
	var siren string
	if err := a.DB.QueryRow(ctx, `SELECT g.siren FROM organisations g JOIN users u ON u.organisation_id = g.id
		WHERE u.email = 'acheteur@passerelle.test'`).Scan(&siren); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT count(*) FROM declarations`), &n)
		return n
	}
	before := count()
	year := time.Now().Year() // not declared by the demo data
	head := "siren;annee;achats_total;achats_pme;achats_eti;delai_paiement_jours;part_factures_a_temps\r\n"

	// No file: the form again, 422.
	resp, doc := upload(t, a.staff, a.URL+"/equipe/declarations/import", "", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-file]").Length() != 1 {
		t.Fatalf("no file: %d", resp.StatusCode)
	}
	bad := head + fmt.Sprintf("%s;%d;1000000;2000000;0;30;90\r\n%s;%d;mille;0;0;30;90\r\n", siren, year, siren, year-1)
	resp, _ = upload(t, a.staff, a.URL+"/equipe/declarations/import", "bad.csv", []byte(bad))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	page := a.URL + resp.Header.Get("Location")
	doc = waitImport(t, a.staff, page)
	errs := tableRows(doc.Find("[data-testid=import-errors]"))
	if len(errs) != 3 || errs[1][0] != "2" || errs[1][1] != "achats_pme" || errs[2][0] != "3" || errs[2][1] != "achats_total" || errs[2][3] != "mille" {
		t.Fatalf("errors table %v", errs)
	}
	if doc.Find("[data-testid=import-confirm]").Length() != 0 || count() != before {
		t.Fatal("a file with errors can be imported")
	}

	good := "\ufeff" + head + fmt.Sprintf("%s;%d;\"2 000 000 000\";\"520 000 000\";\"300 000 000\";38,5;91,5\r\n", siren, year)
	resp, _ = upload(t, a.staff, a.URL+"/equipe/declarations/import", "declarations.csv", []byte(good))
	page = a.URL + resp.Header.Get("Location")
	doc = waitImport(t, a.staff, page)
	if doc.Find("[data-testid=import-errors]").Length() != 0 || doc.Find("[data-testid=import-preview] tbody tr").Length() != 1 {
		t.Fatalf("preview: %s", doc.Find("main").Text())
	}
	action, _ := doc.Find("[data-testid=import-confirm]").Attr("action")
	resp, _ = postForm(t, a.staff, a.URL+action, url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	doc = waitImport(t, a.staff, page)
	if doc.Find("[data-testid=to-observatory]").Length() != 1 || count() != before+1 {
		t.Fatalf("after the import: %d declarations, page %s", count()-before, doc.Find("main").Text())
	}

	// The observatory: the chart, its table and its CSV show the new year,
	// with the same numbers.
	_, doc = get(t, a.staff, a.URL+"/observatoire")
	table := tableRows(doc.Find("[data-testid=table-tendance]"))
	last := table[len(table)-1]
	if last[0] != fmt.Sprint(year) || last[1] != "26\u00a0%" {
		t.Fatalf("trend table ends with %v", last)
	}
	if doc.Find("[data-testid=chart-tendance] svg title").Length() != 1 || doc.Find("[data-testid=chart-tendance] rect").Length() != 2*len(table[1:]) {
		t.Fatalf("the chart has %d bars for %d years", doc.Find("[data-testid=chart-tendance] rect").Length(), len(table)-1)
	}
	href, _ := doc.Find("[data-testid=csv-tendance]").Attr("href")
	rows := readCSV(t, a.staff, a.URL+href)
	if len(rows) != len(table) {
		t.Fatalf("CSV %d rows, table %d", len(rows), len(table))
	}
	for i := 1; i < len(rows); i++ {
		for j := 1; j < len(rows[i]); j++ {
			if rows[i][0] != table[i][0] || rows[i][j]+"\u00a0%" != table[i][j] {
				t.Errorf("row %d: CSV %v, table %v", i, rows[i], table[i])
			}
		}
	}
	if rows[len(rows)-1][1] != "26" {
		t.Errorf("CSV ends with %v", rows[len(rows)-1])
	}
}

// TestImportLimits: a 50 MB file is taken and checked (its lines are
// duplicates: errors, nothing written); over the limit the form says so.
func TestImportLimits(t *testing.T) {
	a := startIndicators(t)
	var b bytes.Buffer
	b.WriteString("siren;annee;achats_total;achats_pme;achats_eti;delai_paiement_jours;part_factures_a_temps\n")
	for b.Len() < 50<<20 {
		b.WriteString("552032534;2024;1000;200;100;30;90\n")
	}
	resp, _ := upload(t, a.staff, a.URL+"/equipe/declarations/import", "big.csv", b.Bytes())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("50 MB: %d", resp.StatusCode)
	}
	doc := waitImport(t, a.staff, a.URL+resp.Header.Get("Location"))
	if doc.Find("[data-testid=import-errors] tbody tr").Length() != 200 || doc.Find("[data-testid=import-confirm]").Length() != 0 {
		t.Fatalf("50 MB file: %s", doc.Find("[data-testid=section-erreurs] .alert").Text())
	}
	for b.Len() < 65<<20 {
		b.WriteString("552032534;2024;1000;200;100;30;90\n")
	}
	resp, doc = upload(t, a.staff, a.URL+"/equipe/declarations/import", "bigger.csv", b.Bytes())
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-file]").Length() != 1 {
		t.Fatalf("65 MB: %d", resp.StatusCode)
	}
	// A buyer cannot even send one.
	resp, _ = upload(t, a.buyer, a.URL+"/equipe/declarations/import", "x.csv", []byte("x"))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a buyer's upload: %d", resp.StatusCode)
	}
}

// TestDeclarationForm: bad input re-renders with 422 and what was typed;
// a good declaration lands in the history.
func TestDeclarationForm(t *testing.T) {
	a := startIndicators(t)
	typed := url.Values{"year": {"2025"}, "total": {"1 000 000"}, "pme": {"2 000 000"}, "eti": {"-3"}, "payment_days": {"quarante"}, "on_time": {"88,5"}}
	resp, doc := postForm(t, a.buyer, a.URL+"/espace/declarations", typed)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad declaration: %d", resp.StatusCode)
	}
	for _, f := range []string{"pme", "eti", "payment_days"} {
		if doc.Find("[data-testid=error-"+f+"]").Length() != 1 {
			t.Errorf("no error on %s", f)
		}
	}
	if v, _ := doc.Find("#f-total").Attr("value"); v != "1 000 000" {
		t.Errorf("total kept as %q", v)
	}
	rowsBefore := doc.Find("[data-testid=declarations-table] tbody tr").Length()
	typed.Set("pme", "250 000")
	typed.Set("eti", "100 000")
	typed.Set("payment_days", "41,5")
	resp, _ = postForm(t, a.buyer, a.URL+"/espace/declarations", typed)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good declaration: %d", resp.StatusCode)
	}
	_, doc = get(t, a.buyer, a.URL+"/espace/declarations")
	rows := tableRows(doc.Find("[data-testid=declarations-table]"))
	if len(rows)-1 != rowsBefore+1 || rows[1][0] != "2025" || rows[1][3] != "25\u00a0%" || rows[1][7] != "2" {
		t.Fatalf("history %v", rows[:2])
	}
}

// TestObservatoryByRole: staff see every account, a buyer the aggregate
// and its own line, an SME the aggregate only (and not the accounts' CSV).
func TestObservatoryByRole(t *testing.T) {
	a := startIndicators(t)
	_, doc := get(t, a.staff, a.URL+"/observatoire?annee=2024")
	staffRows := doc.Find("[data-testid=table-comptes] tbody tr").Length()
	if staffRows < 9 {
		t.Fatalf("staff see %d lines", staffRows)
	}
	// The year chooses the accounts only: its selector sits in their
	// section, which names it, and comes back to it.
	year := doc.Find("select[name=annee]")
	if year.Length() != 1 || year.Closest("[data-testid=section-comptes]").Length() != 1 ||
		!strings.Contains(doc.Find("#comptes-h").Text(), "2024") {
		t.Fatalf("year selector outside the accounts' section, or their title without the year: %q", doc.Find("#comptes-h").Text())
	}
	if action, _ := year.Closest("form").Attr("action"); action != "/observatoire#comptes" {
		t.Errorf("the year's form goes to %q", action)
	}
	_, doc = get(t, a.buyer, a.URL+"/observatoire?annee=2024")
	if n := doc.Find("[data-testid=table-comptes] tbody tr").Length(); n != 2 {
		t.Fatalf("a buyer sees %d lines", n)
	}
	rows := readCSV(t, a.buyer, a.URL+"/observatoire/comptes.csv?annee=2024")
	if len(rows) != 3 {
		t.Fatalf("a buyer's CSV %v", rows)
	}
	_, doc = get(t, a.sme, a.URL+"/observatoire")
	if doc.Find("[data-testid=section-comptes]").Length() != 0 || doc.Find("[data-testid=chart-tendance] rect").Length() == 0 {
		t.Fatal("an SME sees the accounts or no trend")
	}
	resp, _ := get(t, a.sme, a.URL+"/observatoire/comptes.csv")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an SME's accounts CSV: %d", resp.StatusCode)
	}
	// The barometer of the current campaign: 4 answers about the demo
	// buyer, not enough to show a score.
	if doc.Find("[data-testid=barometer-table]").Text() == "" || !strings.Contains(doc.Find("[data-testid=barometer-table]").Text(), "Pas assez de réponses") {
		t.Fatalf("barometer: %s", doc.Find("[data-testid=section-barometre]").Text())
	}
	// An empty chart offers no CSV of nothing; a drawn one does.
	if doc.Find("[data-testid=csv-barometre]").Length() != 0 || doc.Find("[data-testid=csv-tendance]").Length() != 1 {
		t.Fatalf("CSV links: barometer (empty) %d, trend %d", doc.Find("[data-testid=csv-barometre]").Length(),
			doc.Find("[data-testid=csv-tendance]").Length())
	}
}

// TestBarometerClosedMeanwhile: an answer sent after staff closed the
// campaign brings the SME back to the page, which says so; nothing stored.
func TestBarometerClosedMeanwhile(t *testing.T) {
	a := startIndicators(t)
	ctx := context.Background()
	var account int64
	if err := a.DB.QueryRow(ctx, `SELECT organisation_id FROM users WHERE email = 'acheteur@passerelle.test'`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Exec(ctx, `UPDATE barometer_campaigns SET closed_at = now() WHERE closed_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	var before int
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT count(*) FROM barometer_answers`), &before)
	resp, _ := postForm(t, a.sme, a.URL+"/barometre", url.Values{"account": {fmt.Sprint(account)}, "relationship": {"7"}, "payment": {"7"},
		"clarity": {"7"}, "innovation": {"7"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/barometre" {
		t.Fatalf("answer after the close: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc := get(t, a.sme, a.URL+"/barometre")
	var after int
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT count(*) FROM barometer_answers`), &after)
	if after != before || doc.Find("[data-testid=barometer-form]").Length() != 0 {
		t.Errorf("%d answers stored, form shown %d", after-before, doc.Find("[data-testid=barometer-form]").Length())
	}
}

// TestStaffDeclarationsOneYearAtATime: the list of declarations in force
// shows the latest year, another on demand.
func TestStaffDeclarationsOneYearAtATime(t *testing.T) {
	a := startIndicators(t)
	for _, c := range []struct{ path, year string }{{"/equipe/declarations", "2025"}, {"/equipe/declarations?annee=2021", "2021"}} {
		_, doc := get(t, a.staff, a.URL+c.path)
		rows := tableRows(doc.Find("[data-testid=declarations-table]"))
		if len(rows) < 9 {
			t.Fatalf("%s: %d rows", c.path, len(rows))
		}
		for _, r := range rows[1:] {
			if r[1] != c.year {
				t.Fatalf("%s: a line of %s", c.path, r[1])
			}
		}
	}
}
