package registers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/taxonomy"
)

// Rejection reasons of the DECP import.
const (
	RejectNoID    = "identifiant manquant"
	RejectNoBuyer = "acheteur manquant"
)

// text is a JSON value read as text whatever its type: the sources
// publish amounts, durations and ids as numbers or strings, or null.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(strings.TrimSpace(s))
	case b[0] == '{' || b[0] == '[':
		*t = "" // a structure where a value was expected: not readable as one
	default:
		*t = text(b)
	}
	return nil
}

type party struct {
	ID   text `json:"id"`
	Name text `json:"nom"`
}

type supplier struct {
	IDType text `json:"typeIdentifiant"`
	ID     text `json:"id"`
	Name   text `json:"denominationSociale"`
}

// suppliers reads the 2019 list ([{typeIdentifiant, id, …}]) and the
// 2024 one, where each item wraps its supplier ([{"titulaire": {…}}]).
type suppliers []supplier

func (s *suppliers) UnmarshalJSON(b []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		var one json.RawMessage // a single object where a list was expected
		if json.Unmarshal(b, &one) != nil || len(bytes.TrimSpace(one)) == 0 || bytes.TrimSpace(one)[0] != '{' {
			return nil
		}
		items = []json.RawMessage{one}
	}
	for _, it := range items {
		var wrap struct {
			Titulaire      *supplier `json:"titulaire"`
			Concessionaire *supplier `json:"concessionnaire"`
			supplier
		}
		if err := json.Unmarshal(it, &wrap); err != nil {
			continue
		}
		switch {
		case wrap.Titulaire != nil:
			*s = append(*s, *wrap.Titulaire)
		case wrap.Concessionaire != nil:
			*s = append(*s, *wrap.Concessionaire)
		default:
			*s = append(*s, wrap.supplier)
		}
	}
	return nil
}

// decpRecord is one contract as published (both schemas; concessions name
// their buyer autoriteConcedante, their suppliers concessionnaires and
// their amount valeurGlobale).
type decpRecord struct {
	ID            text            `json:"id"`
	Type          text            `json:"_type"`
	Buyer         *party          `json:"acheteur"`
	Authority     *party          `json:"autoriteConcedante"`
	Nature        text            `json:"nature"`
	Object        text            `json:"objet"`
	CPV           text            `json:"codeCPV"`
	Procedure     text            `json:"procedure"`
	Place         *place          `json:"lieuExecution"`
	Duration      text            `json:"dureeMois"`
	Notified      text            `json:"dateNotification"`
	Signed        text            `json:"dateSignature"`
	Published     text            `json:"datePublicationDonnees"`
	Amount        text            `json:"montant"`
	Value         text            `json:"valeurGlobale"`
	PriceForm     text            `json:"formePrix"`
	Winners       suppliers       `json:"titulaires"`
	Holders       suppliers       `json:"concessionnaires"`
	Modifications json.RawMessage `json:"modifications"`
}

type place struct {
	Code text `json:"code"`
	Type text `json:"typeCode"`
	Name text `json:"nom"`
}

var contractCols = []string{"n", "buyer_id", "id", "buyer_name", "kind", "nature", "object", "cpv_code", "cpv_raw", "procedure",
	"place_code", "place_type", "place_name", "departement", "duration_months", "notified_on", "published_on", "amount_eur",
	"price_form", "schema", "damaged", "modifications", "digest"}

var winnerCols = []string{"n", "rank", "id_type", "winner_id", "siren", "name"}

// ImportDECP replaces the DECP register by the file's contracts in one
// transaction. The file is the consolidated DECP as data.gouv.fr
// publishes it, in the 2019 schema ({"marches": [ … ]}) or the 2024 one
// ({"marches": {"marche": [ … ], "contrat-concession": [ … ]}}), plain or
// zipped; records are decoded one at a time.
func ImportDECP(ctx context.Context, db *pgxpool.Pool, src Source, p Progress) (Report, error) {
	if p == nil {
		p = noProgress{}
	}
	return record(ctx, db, "decp", src.Name, func() (Report, error) {
		rep := Report{}
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockDECP); err != nil {
				return err
			}
			if err := bulkSettings(ctx, tx); err != nil {
				return err
			}
			for _, q := range []string{
				`CREATE TEMP TABLE dc_all ON COMMIT DROP AS SELECT 0::bigint AS n, * FROM decp_contracts WITH NO DATA`,
				`CREATE TEMP TABLE dw_all (n bigint, rank smallint, id_type text, winner_id text, siren text, name text) ON COMMIT DROP`,
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			rc, size, err := src.open(ctx, ".json")
			if err != nil {
				return err
			}
			defer rc.Close()
			p.Start(src.Name, size)
			defer p.Done()
			// Contracts and their suppliers go to two COPYs (one at a time
			// on a connection): the suppliers wait in a temporary file, so
			// memory stays bounded whatever the file's size.
			spill, err := os.CreateTemp("", "passerelle-decp-suppliers-*")
			if err != nil {
				return err
			}
			defer os.Remove(spill.Name())
			defer spill.Close()
			sw := &copyWriter{w: bufio.NewWriterSize(spill, 256<<10), first: true}
			_, err = copyRows(ctx, tx, "dc_all", contractCols, func(w *copyWriter) error {
				return readDECP(counting{r: rc, p: p}, src.Name, p, &rep, func(n int64, row []string, ws []supplier) {
					w.field(strconv.FormatInt(n, 10))
					for _, f := range row {
						w.field(f)
					}
					w.end()
					for i, s := range ws {
						id := strings.ReplaceAll(string(s.ID), " ", "")
						siren := ""
						if len(id) >= 9 && allDigits(id[:9]) && (len(id) == 9 || len(id) == 14) && taxonomy.ValidSIREN(id[:9]) {
							siren = id[:9]
						}
						for _, f := range []string{strconv.FormatInt(n, 10), strconv.Itoa(i + 1), string(s.IDType), id, siren, string(s.Name)} {
							sw.field(f)
						}
						sw.end()
					}
				})
			})
			if err != nil {
				return err
			}
			if err := sw.w.Flush(); err != nil {
				return err
			}
			if _, err := spill.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(spill, 256<<10), "COPY dw_all ("+strings.Join(winnerCols, ", ")+") FROM STDIN"); err != nil {
				return fmt.Errorf("registers: copy suppliers: %w", err)
			}
			return mergeDECP(ctx, tx, &rep)
		})
		return rep, err
	})
}

// readDECP walks the file's JSON, decoding one record at a time, and
// hands each kept contract's fields to emit.
func readDECP(r io.Reader, name string, p Progress, rep *Report, emit func(n int64, row []string, ws []supplier)) error {
	dec := json.NewDecoder(r)
	bad := func() error {
		return formatErr(`%s: not a DECP file: expected {"marches": [ … ]} (2019 schema) or {"marches": {"marche": [ … ]}} (2024 schema)`, name)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(name, err, bad)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return bad()
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(name, err, bad)
		}
		if key, _ := tok.(string); key != "marches" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return jsonErr(name, err, bad)
			}
			continue
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return jsonErr(name, err, bad)
		}
		switch tok {
		case json.Delim('['):
			if err := readRecords(dec, name, 2019, "", p, rep, emit); err != nil {
				return err
			}
		case json.Delim('{'):
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return jsonErr(name, err, bad)
				}
				kind, _ := tok.(string)
				if kind != "marche" && kind != "contrat-concession" {
					return formatErr("%s: unknown list %q under \"marches\" (the 2024 schema has \"marche\" and \"contrat-concession\")", name, kind)
				}
				if kind == "contrat-concession" {
					kind = "Contrat de concession"
				} else {
					kind = "Marché"
				}
				tok, err = dec.Token()
				if err != nil {
					return jsonErr(name, err, bad)
				}
				switch tok {
				case json.Delim('['):
					if err := readRecords(dec, name, 2024, kind, p, rep, emit); err != nil {
						return err
					}
				default:
					return bad()
				}
			}
			if _, err := dec.Token(); err != nil {
				return jsonErr(name, err, bad)
			}
		default:
			return bad()
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(name, err, bad)
	}
	if !found {
		return bad()
	}
	if _, err := dec.Token(); err != io.EOF {
		return formatErr("%s: data after the end of the JSON document", name)
	}
	return nil
}

func jsonErr(name string, err error, bad func() error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return formatErr("%s: the JSON ends in the middle (a truncated file)", name)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return formatErr("%s: invalid JSON at byte %d: %v", name, se.Offset, err)
	}
	if errors.Is(err, ErrFormat) {
		return err
	}
	return formatErr("%s: %v", name, err)
}

// readRecords decodes the records of one list up to its closing bracket.
func readRecords(dec *json.Decoder, name string, schema int, kind string, p Progress, rep *Report, emit func(int64, []string, []supplier)) error {
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(name, err, nil)
		}
		rep.Read++
		p.Add(0, 1)
		if !utf8.Valid(raw) {
			return formatErr("%s: record %d is not UTF-8", name, rep.Read)
		}
		var rec decpRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			rep.reject("enregistrement illisible")
			continue
		}
		row, ws, reason := contractRow(rec, schema, kind)
		if reason != "" {
			rep.reject(reason)
			continue
		}
		if bytes.Contains(raw, []byte("\ufffd")) || bytes.Contains(raw, []byte(`\ufffd`)) {
			rep.Damaged++
		}
		emit(rep.Read, row, ws)
	}
	if _, err := dec.Token(); err != nil { // the list's ']'
		return jsonErr(name, err, nil)
	}
	return nil
}

// contractRow gives the fields of contractCols (after n) for a record, or
// why it is skipped.
func contractRow(rec decpRecord, schema int, kind string) ([]string, []supplier, string) {
	buyer := rec.Buyer
	if buyer == nil || buyer.ID == "" {
		buyer = rec.Authority
	}
	if rec.ID == "" {
		return nil, nil, RejectNoID
	}
	if buyer == nil || buyer.ID == "" {
		return nil, nil, RejectNoBuyer
	}
	if kind == "" {
		kind = string(rec.Type)
		if kind == "" {
			kind = "Marché"
		}
		if rec.Authority != nil && rec.Authority.ID != "" {
			kind = "Contrat de concession"
		}
	}
	ws := rec.Winners
	if len(ws) == 0 {
		ws = rec.Holders
	}
	amount := rec.Amount
	if amount == "" {
		amount = rec.Value
	}
	notified := rec.Notified
	if notified == "" {
		notified = rec.Signed
	}
	var pl place
	if rec.Place != nil {
		pl = *rec.Place
	}
	mods := 0
	var list []json.RawMessage
	if json.Unmarshal(rec.Modifications, &list) == nil {
		mods = len(list)
	}
	damaged := strings.ContainsRune(string(rec.Object)+string(buyer.Name)+string(rec.Nature), utf8.RuneError)
	row := []string{string(buyer.ID), string(rec.ID), string(buyer.Name), kind, string(rec.Nature),
		strings.Join(strings.Fields(string(rec.Object)), " "), CPV8(string(rec.CPV)), string(rec.CPV), string(rec.Procedure),
		string(pl.Code), string(pl.Type), string(pl.Name), placeDepartement(string(pl.Code), string(pl.Type)),
		intOrNull(string(rec.Duration)), dateOrNull(string(notified)), dateOrNull(string(rec.Published)), amountOrNull(string(amount)),
		string(rec.PriceForm), strconv.Itoa(schema), boolText(damaged), strconv.Itoa(mods)}
	var ids []string
	for _, w := range ws {
		ids = append(ids, string(w.IDType), string(w.ID), string(w.Name))
	}
	row = append(row, strconv.FormatInt(digest(append(row, ids...)...), 10))
	return row, ws, ""
}

// CPV8 gives the 8 digits of a published CPV code: the check digit
// dropped ("50700000-2"), a leading zero lost upstream restored
// ("9310000"); "" when it is not a code.
func CPV8(raw string) string {
	s := strings.ReplaceAll(strings.TrimSpace(raw), " ", "")
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s = s[:i]
	}
	if len(s) == 7 && allDigits(s) {
		s = "0" + s
	}
	if len(s) != 8 || !allDigits(s) {
		return ""
	}
	return s
}

// placeDepartement derives a département from a place of execution when
// its code names one (a département, postcode or commune code).
func placeDepartement(code, typ string) string {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	switch strings.ToLower(typ) {
	case "code département", "code departement":
		if len(code) == 1 && allDigits(code) {
			code = "0" + code
		}
		if len(code) == 2 || (len(code) == 3 && strings.HasPrefix(code, "97")) {
			return strings.ToUpper(code)
		}
	case "code postal":
		return departementOfPostcode(code)
	case "code commune":
		return departementOfCommune(strings.ToUpper(code))
	}
	return ""
}

// dateOrNull keeps the date of "2018-12-17", "2018-12-17+01:00" or
// "2018-12-17T10:00:00Z"; an implausible year is no date.
func dateOrNull(s string) string {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:10]) {
		return null
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:10])
	if y < 1990 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31 {
		return null
	}
	return s[:10]
}

func intOrNull(s string) string {
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
	if err != nil || f < 0 || f > 10000 {
		return null
	}
	return strconv.Itoa(int(f))
}

func amountOrNull(s string) string {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), ",", "."), 64)
	if err != nil || f < 0 || f >= 1e13 {
		return null
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// mergeDECP keeps one record per (buyer, id) — the latest published, then
// the last in the file — writes the contracts whose digest changed with
// their suppliers, and removes those no longer published.
func mergeDECP(ctx context.Context, tx pgx.Tx, rep *Report) error {
	tag, err := tx.Exec(ctx, `CREATE TEMP TABLE dc ON COMMIT DROP AS
		SELECT DISTINCT ON (buyer_id, id) * FROM dc_all ORDER BY buyer_id, id, published_on DESC NULLS LAST, n DESC`)
	if err != nil {
		return err
	}
	rep.Contracts = tag.RowsAffected()
	var all int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM dc_all`).Scan(&all); err != nil {
		return err
	}
	rep.Duplicates = all - rep.Contracts
	cols := strings.Join(contractCols[1:], ", ")
	var set []string
	for _, c := range contractCols[3:] {
		set = append(set, c+" = EXCLUDED."+c)
	}
	if _, err := tx.Exec(ctx, `ANALYZE dc; ANALYZE dw_all;
		CREATE TEMP TABLE dchanged ON COMMIT DROP AS SELECT s.* FROM dc s
		WHERE NOT EXISTS (SELECT 1 FROM decp_contracts t WHERE t.buyer_id = s.buyer_id AND t.id = s.id AND t.digest = s.digest)`); err != nil {
		return err
	}
	tag, err = tx.Exec(ctx, `INSERT INTO decp_contracts (`+cols+`) SELECT `+cols+` FROM dchanged
		ON CONFLICT (buyer_id, id) DO UPDATE SET `+strings.Join(set, ", "))
	if err != nil {
		return fmt.Errorf("registers: merge contracts: %w", err)
	}
	rep.Written = tag.RowsAffected()
	rep.Unchanged = rep.Contracts - rep.Written
	if _, err := tx.Exec(ctx, `DELETE FROM decp_winners w USING dchanged c WHERE w.buyer_id = c.buyer_id AND w.id = c.id`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO decp_winners (buyer_id, id, rank, id_type, winner_id, siren, name)
		SELECT c.buyer_id, c.id, w.rank, w.id_type, w.winner_id, w.siren, w.name FROM dchanged c JOIN dw_all w ON w.n = c.n`); err != nil {
		return fmt.Errorf("registers: merge suppliers: %w", err)
	}
	tag, err = tx.Exec(ctx, `DELETE FROM decp_contracts t WHERE NOT EXISTS (SELECT 1 FROM dc s WHERE s.buyer_id = t.buyer_id AND s.id = t.id)`)
	if err != nil {
		return err
	}
	rep.Removed = tag.RowsAffected()
	if rep.Written == 0 && rep.Removed == 0 {
		return nil // nothing changed: what is derived from the registers stands
	}
	return refreshDerived(ctx, tx)
}
