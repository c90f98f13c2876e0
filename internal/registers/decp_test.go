package registers_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/registers"
)

type contract struct {
	object, cpv, notified string
	amount                float64
	winners               []string
}

// contracts reads the imported marchés by buyer and id.
func contracts(t *testing.T, db *pgxpool.Pool) map[[2]string]contract {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT c.buyer_id, c.id, c.object, c.cpv_code, coalesce(c.notified_on::text, ''),
			coalesce(c.amount_eur, -1)::float8,
			ARRAY(SELECT w.winner_id FROM decp_winners w WHERE w.buyer_id = c.buyer_id AND w.id = c.id ORDER BY w.rank)
		FROM decp_contracts c WHERE c.kind = 'Marché'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]contract{}
	for rows.Next() {
		var k [2]string
		var c contract
		if err := rows.Scan(&k[0], &k[1], &c.object, &c.cpv, &c.notified, &c.amount, &c.winners); err != nil {
			t.Fatal(err)
		}
		out[k] = c
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func importDECP(t *testing.T, db *pgxpool.Pool, name string, data []byte) registers.Report {
	t.Helper()
	rep, err := registers.ImportDECP(context.Background(), db, registers.Source{Name: name, Data: data}, nil)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return rep
}

// The shipped records, as their sources published them, give the
// contracts of the flattened CSV: same buyer and id, object, CPV, winners,
// amount and notification date. Where the CSV holds several records of a
// pair (re-publications, lots), the one kept is one of them.
func TestOfficialJSONGivesTheCSVContracts(t *testing.T) {
	db := pgtest.Pool(t)
	rep := importDECP(t, db, "decp_history_official.json", refdata.DECPOfficial)
	got := contracts(t, db)

	want := map[[2]string][]contract{}
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		// The flattened CSV lost the buyer of concessions (autoriteConcedante).
		if r["type"] != "Marché" || r["acheteur_siret"] == "" || r["id_marche"] == "" {
			return nil
		}
		// The CSV keeps a few things as typed that the import reads: ids with
		// spaces, "0" for no CPV code, a year 0218.
		c := contract{object: strings.Join(strings.Fields(r["objet"]), " "), cpv: r["cpv8"], notified: r["date_notification"], amount: -1}
		if len(c.cpv) != 8 {
			c.cpv = ""
		}
		if c.notified < "1990" {
			c.notified = ""
		}
		if f, err := strconv.ParseFloat(r["montant"], 64); err == nil {
			c.amount = f
		}
		if r["titulaires_ids"] != "" {
			c.winners = strings.Split(strings.ReplaceAll(r["titulaires_ids"], " ", ""), "|")
		}
		k := [2]string{r["acheteur_siret"], r["id_marche"]}
		want[k] = append(want[k], c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The shared JSON lacks four pairs of the CSV (their records were not
	// found among the sources' files): they cannot be imported.
	published := map[[2]string]bool{}
	for _, r := range officialRecords(t) {
		if a, ok := r["acheteur"].(map[string]any); ok {
			id, _ := r["id"].(string)
			buyer, _ := a["id"].(string)
			published[[2]string{buyer, id}] = true
		}
	}
	missing := 0
	for k := range want {
		if !published[k] {
			missing++
			delete(want, k)
		}
	}
	if missing != 4 {
		t.Errorf("%d pairs of the CSV are not in the JSON, 4 expected", missing)
	}
	if len(got) != len(want) {
		t.Errorf("%d marchés imported, the CSV has %d", len(got), len(want))
	}
	same := func(a, b contract) bool {
		return a.object == b.object && a.cpv == b.cpv && a.notified == b.notified && math.Abs(a.amount-b.amount) < 0.01 &&
			slices.Equal(a.winners, b.winners)
	}
	bad := 0
	for k, list := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%v: not imported", k)
			bad++
		} else if !slices.ContainsFunc(list, func(c contract) bool { return same(c, g) }) {
			t.Errorf("%v: imported %+v, the CSV has %+v", k, g, list)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many differences")
		}
	}
	if rep.Read != 6114 || rep.Duplicates == 0 || rep.Damaged == 0 || rep.Rejected[registers.RejectNoID]+rep.Rejected[registers.RejectNoBuyer] == 0 {
		t.Errorf("report %s", rep.JSON())
	}
	if rep.Read != rep.Contracts+rep.Duplicates+rep.RejectedTotal() {
		t.Errorf("read %d ≠ contracts + duplicates + rejected: %s", rep.Read, rep.JSON())
	}
	// Broken accents are kept as published.
	var damaged int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM decp_contracts WHERE object LIKE '%' || U&'\FFFD' || '%'`).Scan(&damaged); err != nil || damaged == 0 {
		t.Errorf("%d objects keep U+FFFD (%v)", damaged, err)
	}

	// The same file again changes nothing.
	again := importDECP(t, db, "decp_history_official.json", refdata.DECPOfficial)
	if again.Written != 0 || again.Removed != 0 || again.Unchanged != rep.Contracts {
		t.Errorf("second import: %s", again.JSON())
	}
}

// to2024 rewrites 2019-schema records in the 2024 schema as data.gouv.fr
// publishes it: {"marches": {"marche": [ … ]}}, suppliers wrapped in
// {"titulaire": { … }}, no buyer or supplier names, modifications wrapped.
func to2024(t *testing.T, records []map[string]any) []byte {
	var out []map[string]any
	for _, r := range records {
		if r["_type"] != "Marché" {
			continue
		}
		n := map[string]any{}
		for k, v := range r {
			switch k {
			case "source", "_type", "uuid", "uid", "donneesExecution":
			case "acheteur":
				if a, ok := v.(map[string]any); ok {
					n[k] = map[string]any{"id": a["id"]}
				}
			case "titulaires":
				var ws []any
				for _, w := range v.([]any) {
					m := w.(map[string]any)
					ws = append(ws, map[string]any{"titulaire": map[string]any{"typeIdentifiant": m["typeIdentifiant"], "id": m["id"]}})
				}
				n[k] = ws
			default:
				n[k] = v
			}
		}
		n["marcheInnovant"] = false
		n["considerationsSociales"] = map[string]any{"considerationSociale": []string{"Pas de considération sociale"}}
		out = append(out, n)
	}
	b, err := json.Marshal(map[string]any{"marches": map[string]any{"marche": out, "contrat-concession": []any{}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func officialRecords(t *testing.T) []map[string]any {
	var doc struct {
		Marches []map[string]any `json:"marches"`
	}
	if err := json.Unmarshal(refdata.DECPOfficial, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Marches
}

// The 2024 schema gives the same marchés as the 2019 one.
func TestSchema2024(t *testing.T) {
	db := pgtest.Pool(t)
	importDECP(t, db, "2019.json", refdata.DECPOfficial)
	before := contracts(t, db)
	rep := importDECP(t, db, "decp-2024.json", to2024(t, officialRecords(t)))
	after := contracts(t, db)
	if len(after) != len(before) || len(after) < 5000 {
		t.Fatalf("%d marchés from the 2024 file, %d from the 2019 one", len(after), len(before))
	}
	for k, c := range before {
		a := after[k]
		if a.object != c.object || a.cpv != c.cpv || !slices.Equal(a.winners, c.winners) || a.amount != c.amount || a.notified != c.notified {
			t.Fatalf("%v: 2024 %+v, 2019 %+v", k, a, c)
		}
	}
	var schema int
	var name string
	pgtest.Scan(t, db.QueryRow(context.Background(), `SELECT min(schema), min(buyer_name) FROM decp_contracts WHERE kind = 'Marché'`), &schema, &name)
	if schema != 2024 || name != "" || rep.Written == 0 {
		t.Errorf("schema %d, buyer name %q, report %s", schema, name, rep.JSON())
	}
}

func doc(records ...string) []byte {
	return []byte(`{"marches": [` + strings.Join(records, ",") + `]}`)
}

func rec(buyer, id, object, published string) string {
	p := ""
	if published != "" {
		p = `, "datePublicationDonnees": "` + published + `"`
	}
	return `{"id": "` + id + `", "acheteur": {"id": "` + buyer + `", "nom": "Ville"}, "objet": "` + object + `", "codeCPV": "45000000-7",
		"dateNotification": "2019-03-01+01:00", "montant": "1200.50", "titulaires": [{"typeIdentifiant": "SIRET", "id": "423 999 085 00057", "denominationSociale": "OVIVE"}],
		"lieuExecution": {"code": "20000", "typeCode": "Code postal", "nom": "Ajaccio"}, "modifications": []` + p + `}`
}

// A pair published several times keeps the latest datePublicationDonnees,
// then the last in the file; the others are counted as duplicates.
func TestDuplicatesKeepTheLatest(t *testing.T) {
	db := pgtest.Pool(t)
	const buyer = "24201005600073"
	rep := importDECP(t, db, "dup.json", doc(
		rec(buyer, "A", "a: newest", "2019-05-01"), rec(buyer, "A", "a: older", "2019-01-01"), rec(buyer, "A", "a: undated", ""),
		rec(buyer, "B", "b: first", "2019-02-01"), rec(buyer, "B", "b: last", "2019-02-01"),
		rec(buyer, "C", "c", "")))
	got := contracts(t, db)
	if got[[2]string{buyer, "A"}].object != "a: newest" || got[[2]string{buyer, "B"}].object != "b: last" || len(got) != 3 {
		t.Errorf("kept %+v", got)
	}
	if rep.Duplicates != 3 || rep.Contracts != 3 || rep.Read != 6 {
		t.Errorf("report %s", rep.JSON())
	}
	c := got[[2]string{buyer, "C"}]
	if c.cpv != "45000000" || c.amount != 1200.5 || c.notified != "2019-03-01" || !slices.Equal(c.winners, []string{"42399908500057"}) {
		t.Errorf("contract C read as %+v", c)
	}
	var dep, siren string
	pgtest.Scan(t, db.QueryRow(context.Background(), `SELECT departement, (SELECT siren FROM decp_winners w WHERE w.id = c.id) FROM decp_contracts c WHERE id = 'C'`), &dep, &siren)
	if dep != "2A" || siren != "423999085" {
		t.Errorf("département %q, SIREN %q", dep, siren)
	}
}

func zipOf(t *testing.T, name string, data []byte) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Bad files stop the import with a clear error and leave the register as
// it was.
func TestBadDECPFilesWriteNothing(t *testing.T) {
	db := pgtest.Pool(t)
	good := doc(rec("24201005600073", "A", "a", "2019-01-01"), rec("24201005600073", "B", "b", "2019-01-01"))
	importDECP(t, db, "good.json", good)
	other := to2024(t, officialRecords(t)[:50])
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"cut in the middle", other[:len(other)/2], "truncated"},
		{"cut in a 2019 file", refdata.DECPOfficial[:len(refdata.DECPOfficial)/3], "truncated"},
		{"another shape", []byte(`{"records": [{"id": "1"}]}`), "not a DECP file"},
		{"a list", []byte(`[{"id": "1"}]`), "not a DECP file"},
		{"marches of another kind", []byte(`{"marches": {"achat": []}}`), "unknown list"},
		{"not JSON", []byte("siren,nic\n1,2\n"), "invalid JSON"},
		{"a zip holding something else", zipOf(t, "lisezmoi.txt", []byte("bonjour")), "must hold exactly one .json"},
		{"a truncated zip", zipOf(t, "decp.json", good)[:40], "zip"},
		{"Latin-1", []byte("{\"marches\": [{\"id\": \"X\", \"acheteur\": {\"id\": \"1\"}, \"objet\": \"Soci\xe9t\xe9\"}]}"), "not UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := registers.ImportDECP(context.Background(), db, registers.Source{Name: c.name, Data: c.data}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if len(contracts(t, db)) != 2 {
				t.Errorf("the register changed")
			}
		})
	}
	// A zipped file is read.
	rep := importDECP(t, db, "decp.zip", zipOf(t, "decp.json", good))
	if rep.Unchanged != 2 || rep.Written != 0 {
		t.Errorf("zip: %s", rep.JSON())
	}
	// Every run is recorded, failed ones with their error.
	var failed, ok int
	pgtest.Scan(t, db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE NOT ok AND error <> ''), count(*) FILTER (WHERE ok) FROM register_imports`), &failed, &ok)
	if failed != 9 || ok != 2 {
		t.Errorf("%d failed and %d good runs recorded", failed, ok)
	}
	if !errors.Is(registers.ErrFormat, registers.ErrFormat) {
		t.Fatal()
	}
}

func TestCPV8(t *testing.T) {
	for in, want := range map[string]string{"50700000-2": "50700000", "9310000": "09310000", "72212000": "72212000",
		" 45000000 - 7": "45000000", "AA01-1": "", "": "", "123": ""} {
		if got := registers.CPV8(in); got != want {
			t.Errorf("CPV8(%q) = %q, want %q", in, got, want)
		}
	}
}
