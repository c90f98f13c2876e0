package demo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
)

// publishedShares are the aggregate PME shares the demo declarations add
// up to, year by year: around the association's published figures (22.4 %
// in 2013, 24 % in 2015–2016).
var publishedShares = map[int]float64{2019: 0.224, 2020: 0.228, 2021: 0.231, 2022: 0.235, 2023: 0.239, 2024: 0.236, 2025: 0.240}

// demoYears are the years the demo large accounts declared.
var demoYears = []int{2019, 2020, 2021, 2022, 2023, 2024, 2025}

// jitter is a stable number in [-1, 1) drawn from key: the demo data is
// the same at every load.
func jitter(key string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return float64(h.Sum64()%2000)/1000 - 1
}

type demoOrg struct {
	id    int64
	siren string
	name  string
}

// seedIndicators gives the observatory, the barometer and the platform's
// contribution something real to show: more member large accounts (real
// public buyers of the award data) with several years of declarations
// adding up to the published shares, more member SMEs (real winners)
// answering the barometer, and contracts won through the platform. It
// adds nothing once demo declarations exist.
func seedIndicators(ctx context.Context, db *pgxpool.Pool) error {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM declarations WHERE source = 'demo'`).Scan(&n); err != nil || n > 0 {
		return err
	}
	var buyer demoOrg
	if err := db.QueryRow(ctx, `SELECT g.id, g.siren, g.legal_name FROM users u JOIN organisations g ON g.id = u.organisation_id
		WHERE u.email = 'acheteur@passerelle.test'`).Scan(&buyer.id, &buyer.siren, &buyer.name); err != nil {
		return fmt.Errorf("demo: the demo buyer: %w", err)
	}
	// Real public buyers and winners, not yet on the platform.
	var buyers, winners []demoOrg
	seen := map[string]bool{buyer.siren: true}
	taken := map[string]bool{}
	rows, _ := db.Query(ctx, `SELECT siren FROM organisations`)
	var s string
	if _, err := pgx.ForEachRow(rows, []any{&s}, func() error { taken[s] = true; return nil }); err != nil {
		return err
	}
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["probleme_encodage"] != "0" {
			return nil
		}
		if b := r["acheteur_siret"]; len(b) == 14 && len(buyers) < 9 && r["acheteur_nom"] != "" {
			if siren := b[:9]; taxonomy.ValidSIREN(siren) && !seen[siren] && !taken[siren] {
				seen[siren] = true
				buyers = append(buyers, demoOrg{siren: siren, name: r["acheteur_nom"]})
			}
		}
		if w := r["titulaires_ids"]; r["titulaires_type_id"] == "SIRET" && len(w) >= 9 && len(winners) < 8 && r["titulaires_noms"] != "" &&
			!containsString([]string{"", "0"}, r["lieu_departement"]) {
			if siren := w[:9]; taxonomy.ValidSIREN(siren) && !seen[siren] && !taken[siren] {
				seen[siren] = true
				winners = append(winners, demoOrg{siren: siren, name: r["titulaires_noms"]})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(buyers) < 5 || len(winners) < 6 {
		return errors.New("demo: the embedded data has too few buyers and winners for the indicators")
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		create := func(o *demoOrg, kind, naf, band string) error {
			return tx.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status, decided_at)
				VALUES ($1, $2, $3, $4, $5, '75', 'member', now()) RETURNING id`, o.siren, o.name, kind, naf, band).Scan(&o.id)
		}
		for i := range buyers {
			if err := create(&buyers[i], "public", "84.11Z", "32"); err != nil {
				return fmt.Errorf("demo: large account %s: %w", buyers[i].siren, err)
			}
		}
		for i := range winners {
			if err := create(&winners[i], "pme", "43.21A", "11"); err != nil {
				return fmt.Errorf("demo: SME %s: %w", winners[i].siren, err)
			}
		}
		accounts := append([]demoOrg{buyer}, buyers...)
		if err := declareDemo(ctx, tx, accounts); err != nil {
			return err
		}
		if err := barometerDemo(ctx, tx, accounts, winners); err != nil {
			return err
		}
		return contributionDemo(ctx, tx, buyer, winners)
	})
}

// declareDemo writes each account's declarations: purchases of a few
// hundred million to a few billion euros, shares around each year's
// published figure, the largest account's share set so the weighted
// aggregate is the published figure exactly (to a tenth of a point). One
// account joined in 2021 and one missed 2022, as happens.
func declareDemo(ctx context.Context, tx pgx.Tx, accounts []demoOrg) error {
	for _, year := range demoYears {
		type line struct {
			org             demoOrg
			total, pme, eti int64
			days, onTime    float64
		}
		var lines []line
		var total, pme int64
		biggest := -1
		for i, a := range accounts {
			if (i == 2 && year < 2021) || (i == 3 && year == 2022) {
				continue
			}
			base := 300e6 + (jitter(a.siren)+1)*2.2e9
			t := int64(base * (1 + 0.03*float64(year-2019)) * (1 + 0.05*jitter(a.siren+fmt.Sprint(year))))
			share := publishedShares[year] + 0.08*jitter(a.siren+"pme"+fmt.Sprint(year))
			l := line{org: a, total: t, pme: int64(float64(t) * share), eti: int64(float64(t) * (0.15 + 0.05*jitter(a.siren+"eti"))),
				days:   math.Round((45+15*jitter(a.siren+"days")-0.8*float64(year-2019))*10) / 10,
				onTime: math.Round((82+10*jitter(a.siren+"ontime")+0.7*float64(year-2019))*10) / 10}
			lines = append(lines, l)
			total, pme = total+t, pme+l.pme
			if biggest < 0 || t > lines[biggest].total {
				biggest = len(lines) - 1
			}
		}
		// The largest account absorbs the difference to the published share.
		b := &lines[biggest]
		b.pme += int64(publishedShares[year]*float64(total)) - pme
		for _, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO declarations (organisation_id, year, version, total_purchases, pme_purchases, eti_purchases,
					payment_days, on_time_share, source, author_name, created_at)
				VALUES ($1, $2::int, 1, $3, $4, $5, $6, $7, 'demo', '', make_date($2::int + 1, 3, 31))`,
				l.org.id, year, l.total, l.pme, l.eti, l.days, l.onTime); err != nil {
				return fmt.Errorf("demo: declaration %s %d: %w", l.org.siren, year, err)
			}
		}
	}
	// A correction, so the history shows one.
	_, err := tx.Exec(ctx, `INSERT INTO declarations (organisation_id, year, version, total_purchases, pme_purchases, eti_purchases,
			payment_days, on_time_share, source, author_name, created_at)
		SELECT organisation_id, year, 2, total_purchases, pme_purchases + total_purchases / 200, eti_purchases, payment_days, on_time_share,
			'demo', '', created_at + interval '20 days'
		FROM declarations WHERE organisation_id = $1 AND year = 2024`, accounts[0].id)
	return err
}

// barometerDemo opens last year's campaign, closed, with enough answers
// for most accounts, and this year's, open, where the demo buyer has four
// answers: the demo SME's would be the fifth that shows its scores.
func barometerDemo(ctx context.Context, tx pgx.Tx, accounts, smes []demoOrg) error {
	var past, current int64
	if err := tx.QueryRow(ctx, `INSERT INTO barometer_campaigns (year, opened_at, closed_at)
		VALUES (extract(year FROM now())::int - 1, now() - interval '13 months', now() - interval '11 months') RETURNING id`).Scan(&past); err != nil {
		return fmt.Errorf("demo: campaign: %w", err)
	}
	if err := tx.QueryRow(ctx, `INSERT INTO barometer_campaigns (year, opened_at) VALUES (extract(year FROM now())::int, now() - interval '10 days')
		RETURNING id`).Scan(&current); err != nil {
		return fmt.Errorf("demo: campaign: %w", err)
	}
	mark := func(key string, mean float64) int {
		return int(math.Max(0, math.Min(10, math.Round(mean+2.5*jitter(key)))))
	}
	answer := func(campaign int64, account, sme demoOrg) error {
		mean := 5.8 + 1.5*jitter(account.siren+"mean") // 58/100 in the 2014 barometer
		k := account.siren + sme.siren + fmt.Sprint(campaign)
		_, err := tx.Exec(ctx, `INSERT INTO barometer_answers (campaign_id, account_id, sme_id, relationship, payment, clarity, innovation)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, campaign, account.id, sme.id,
			mark(k+"r", mean+0.5), mark(k+"p", mean-0.8), mark(k+"c", mean-0.3), mark(k+"i", mean))
		return err
	}
	for i, a := range accounts {
		// Last year: six answers for most, three (not enough) for the last two.
		n := 6
		if i >= len(accounts)-2 {
			n = 3
		}
		for _, s := range smes[:n] {
			if err := answer(past, a, s); err != nil {
				return fmt.Errorf("demo: barometer: %w", err)
			}
		}
	}
	for _, s := range smes[:4] {
		if err := answer(current, accounts[0], s); err != nil {
			return fmt.Errorf("demo: barometer: %w", err)
		}
	}
	return nil
}

// contributionDemo records contracts SMEs won from the demo buyer's
// earlier requests, with the buyer's answer to "without Passerelle…".
func contributionDemo(ctx context.Context, tx pgx.Tx, buyer demoOrg, smes []demoOrg) error {
	contracts := []struct {
		year           int
		amount         int64
		counterfactual string
	}{{2024, 38_000, "no"}, {2024, 72_500, "yes"}, {2025, 24_900, "no"}, {2025, 91_000, "no"}, {2025, 55_000, "unsure"}, {2025, 31_200, "yes"}}
	for i, c := range contracts {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO purchase_requests (organisation_id, title, description, cpv_codes, budget_band, deadline, places,
				status, outcome, follow_up, counterfactual, published_at, closed_at, created_at)
			VALUES ($1, $2, 'Besoin traité via Passerelle (démonstration).', '{45310000}', 'lt40k', make_date($3::int, 3, 1), '{dep:75}',
				'closed', 'awarded', 'passerelle', $4, make_date($3::int, 2, 1), make_date($3::int, 4, 1), make_date($3::int, 1, 20))
			RETURNING id`, buyer.id, fmt.Sprintf("Travaux d'équipement électrique, lot %d", i+1), c.year, c.counterfactual).Scan(&id); err != nil {
			return fmt.Errorf("demo: past request: %w", err)
		}
		sme := smes[i%len(smes)]
		if _, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, state, contract_amount, contract_date,
				created_at, answered_at)
			VALUES ($1, $2, true, 'won', $3, make_date($4::int, 4, 15), make_date($4::int, 2, 1), make_date($4::int, 2, 5))`, id, sme.id, c.amount, c.year); err != nil {
			return fmt.Errorf("demo: contract: %w", err)
		}
	}
	return nil
}
