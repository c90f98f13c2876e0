package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/platform/validate"
	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// seedRequests gives the demo buyer purchase requests in each state, made
// through the purchase service as a buyer, staff and SMEs would: one open
// to all with two answers (the demo SME's accepted, with a conversation),
// one anonymous for matched SMEs only that waits for the demo SME's
// answer, one waiting for staff's review, one draft. Their texts are real
// public contracts in the demo SME's trade. Done once: a buyer that
// already has requests is left as it is.
func seedRequests(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, awards []refdata.Award) error {
	actor := func(email string) (member.Actor, error) {
		var a member.Actor
		err := db.QueryRow(ctx, `SELECT u.id, u.organisation_id, g.legal_name, u.name, u.email, u.role::text, g.kind::text, u.locale
			FROM users u JOIN organisations g ON g.id = u.organisation_id WHERE u.email = $1`, email).
			Scan(&a.UserID, &a.OrgID, &a.OrgName, &a.Name, &a.Email, &a.Role, &a.Kind, &a.Locale)
		if err != nil {
			return member.Actor{}, fmt.Errorf("demo: user %s: %w", email, err)
		}
		return a, nil
	}
	buyer, err := actor("acheteur@passerelle.test")
	if err != nil {
		return err
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM purchase_requests WHERE organisation_id = $1`, buyer.OrgID).Scan(&n); err != nil || n > 0 {
		return err
	}
	sme, err := actor(SMEEmail)
	if err != nil {
		return err
	}
	staff, err := actor("equipe@passerelle.test")
	if err != nil {
		return err
	}
	other, err := actor(SME2Email)
	if err != nil {
		return err
	}
	// The demo SME's trade: the CPV code and département of its first
	// published offer.
	var cpv, dept string
	var offerID int64
	if err := db.QueryRow(ctx, `SELECT o.id, o.cpv_codes[1], g.departement FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.organisation_id = $1 AND o.status = 'published' ORDER BY o.id LIMIT 1`, sme.OrgID).Scan(&offerID, &cpv, &dept); err != nil {
		return fmt.Errorf("demo: the demo SME's offer: %w", err)
	}
	needs := demoNeeds(tax, awards, cpv, dept)
	svc := purchase.NewService(db, tax, search.NewIndexer(tax), nil)
	svc.UseMatcher(matching.ForRequests{Service: matching.NewService(db, tax), Limit: 100})
	deadline := func(days int) string { return time.Now().AddDate(0, 0, days).Format(time.DateOnly) }
	in := func(need refdata.Award, days int) purchase.Input {
		title := need.Object
		return purchase.Input{Title: validate.Clip(title, purchase.MaxTitle),
			Description: "Besoin : " + title + ".\nPrestations attendues : diagnostic, mise en œuvre, suivi pendant un an. " +
				"Merci de préciser vos références récentes auprès d'acheteurs publics et vos délais d'intervention.",
			CPVCodes: []string{cpv}, BudgetBand: "40k_100k", Deadline: deadline(days), Departements: []string{need.Departement}, Visibility: "all",
			Questions: []string{"Sous quel délai pouvez-vous intervenir ?", "Quelles références comparables avez-vous ?"}}
	}
	open := func(i purchase.Input) (int64, error) {
		id, err := svc.Create(ctx, buyer, i, true)
		if err != nil {
			return 0, fmt.Errorf("demo: request: %w", err)
		}
		return id, moderation.Decide(ctx, db, nil, svc.Moderation(), staff, id, moderation.AnyVersion, moderation.Publish, "")
	}
	first, err := open(in(needs[0], 30))
	if err != nil {
		return err
	}
	answer := purchase.Interest{Message: "Nous réalisons ce type de prestation pour des collectivités de la région depuis plusieurs années.",
		Answers: []string{"Sous deux semaines après la commande.", "Voir nos références publiques importées dans notre profil."},
		OfferID: fmt.Sprint(offerID)}
	if err := svc.ExpressInterest(ctx, sme, first, answer); err != nil {
		return fmt.Errorf("demo: interest: %w", err)
	}
	answer.OfferID = ""
	answer.Message = "Entreprise locale, nous pouvons intervenir rapidement."
	if err := svc.ExpressInterest(ctx, other, first, answer); err != nil {
		return fmt.Errorf("demo: interest: %w", err)
	}
	if err := svc.Respond(ctx, buyer, first, sme.OrgID, purchase.Reply{Action: "accept"}); err != nil {
		return fmt.Errorf("demo: accept: %w", err)
	}
	for _, m := range []struct {
		who  member.Actor
		body string
	}{
		{buyer, "Bonjour, votre réponse nous intéresse. Pourriez-vous nous présenter votre méthode lors d'un rendez-vous la semaine prochaine ?"},
		{sme, "Bonjour, avec plaisir. Nous sommes disponibles mardi ou jeudi matin."},
	} {
		if err := svc.Post(ctx, m.who, first, sme.OrgID, m.body); err != nil {
			return fmt.Errorf("demo: message: %w", err)
		}
	}
	secret := in(needs[1], 20)
	secret.Anonymous, secret.Visibility = true, "matched"
	if _, err := open(secret); err != nil {
		return err
	}
	if _, err := svc.Create(ctx, buyer, in(needs[2], 45), true); err != nil {
		return fmt.Errorf("demo: request: %w", err)
	}
	if _, err := svc.Create(ctx, buyer, in(needs[3], 60), false); err != nil {
		return fmt.Errorf("demo: request: %w", err)
	}
	return pastRequest(ctx, db, svc, buyer, staff, []member.Actor{sme, other}, in(needs[4], 0))
}

// pastRequest is a request of two months ago, with six days to answer:
// both demo SMEs read it and said they lacked the time; the buyer closed
// it unawarded. Its page shows what happened and the coach's suggestion.
func pastRequest(ctx context.Context, db *pgxpool.Pool, svc *purchase.Service, buyer, staff member.Actor, smes []member.Actor, in purchase.Input) error {
	then := time.Now().AddDate(0, -2, 0)
	svc.Now = func() time.Time { return then }
	defer func() { svc.Now = time.Now }()
	in.Deadline = then.AddDate(0, 0, 6).Format(time.DateOnly)
	id, err := svc.Create(ctx, buyer, in, true)
	if err != nil {
		return fmt.Errorf("demo: past request: %w", err)
	}
	if err := moderation.Decide(ctx, db, nil, svc.Moderation(), staff, id, moderation.AnyVersion, moderation.Publish, ""); err != nil {
		return fmt.Errorf("demo: past request: %w", err)
	}
	for _, s := range smes {
		if _, err := svc.Get(ctx, s, id); err != nil {
			return fmt.Errorf("demo: past request: %w", err)
		}
		if err := svc.NotInterested(ctx, s, id, purchase.Decline{Reason: "deadline"}); err != nil {
			return fmt.Errorf("demo: past request: %w", err)
		}
	}
	svc.Now = time.Now
	if err := svc.Close(ctx, buyer, id, "not_awarded"); err != nil {
		return fmt.Errorf("demo: past request: %w", err)
	}
	return nil
}

// demoNeeds are five real public contracts of other buyers in the demo
// SME's trade, each to be published where it was executed (the place its
// text names): the closest in CPV code first (same category, class, group,
// division), then the closest to the SME (its département, its region).
// Without enough of them, the code's label stands in, in the SME's
// département.
func demoNeeds(tax *taxonomy.Taxonomy, awards []refdata.Award, cpv, dept string) []refdata.Award {
	region := ""
	if d, ok := tax.Departement(dept); ok {
		region = d.RegionCode
	}
	closeness := func(a refdata.Award) int {
		n := 0
		for n < 5 && n < len(a.CPV) && a.CPV[n] == cpv[n] {
			n++
		}
		place := 0
		if d, ok := tax.Departement(a.Departement); ok && d.Code == dept {
			place = 2
		} else if ok && d.RegionCode == region {
			place = 1
		}
		return n*10 + place
	}
	var list []refdata.Award
	seen := map[string]bool{}
	for _, a := range awards {
		if _, ok := tax.Departement(a.Departement); !ok || a.Damaged || len(a.Object) <= 15 || len(a.Object) > 150 ||
			seen[a.Object] || !strings.HasPrefix(a.CPV, cpv[:2]) {
			continue
		}
		seen[a.Object] = true
		list = append(list, a)
	}
	slices.SortStableFunc(list, func(a, b refdata.Award) int { return closeness(b) - closeness(a) })
	list = list[:min(5, len(list))]
	for len(list) < 5 {
		c, _ := tax.CPV(cpv)
		list = append(list, refdata.Award{Object: fmt.Sprintf("%s (lot %d)", c.LabelFR, len(list)+1), Departement: dept})
	}
	return list
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
