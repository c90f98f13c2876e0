package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/plan"
)

// seedPlans gives the demo buyer its progress plans, made through the
// plans' service as the buyer and staff would: last year's, measured
// against its declaration, assessed and commented by staff (the
// committee's turn now); this year's, published and measured so far. The
// demo SME sits on both years' committees. Done once.
func seedPlans(ctx context.Context, db *pgxpool.Pool) error {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM progress_plans`).Scan(&n); err != nil || n > 0 {
		return err
	}
	actor := func(email string) (member.Actor, error) {
		var a member.Actor
		err := db.QueryRow(ctx, `SELECT u.id, u.organisation_id, g.legal_name, u.name, u.email, u.role::text, g.kind::text
			FROM users u JOIN organisations g ON g.id = u.organisation_id WHERE u.email = $1`, email).
			Scan(&a.UserID, &a.OrgID, &a.OrgName, &a.Name, &a.Email, &a.Role, &a.Kind)
		return a, err
	}
	buyer, err := actor("acheteur@passerelle.test")
	if err != nil {
		return fmt.Errorf("demo: plans: %w", err)
	}
	staff, err := actor("equipe@passerelle.test")
	if err != nil {
		return fmt.Errorf("demo: plans: %w", err)
	}
	sme, err := actor(SMEEmail)
	if err != nil {
		return fmt.Errorf("demo: plans: %w", err)
	}
	var siren string
	if err := db.QueryRow(ctx, `SELECT siren FROM organisations WHERE id = $1`, sme.OrgID).Scan(&siren); err != nil {
		return fmt.Errorf("demo: plans: %w", err)
	}
	svc := plan.NewService(db, indicator.NewService(db, nil))
	year := time.Now().Year()
	steps := []func() error{
		func() error { return svc.Invite(ctx, staff, year-1, siren) },
		func() error { return svc.Invite(ctx, staff, year, siren) },
	}
	var last, current int64
	steps = append(steps,
		func() (err error) {
			last, err = svc.Save(ctx, buyer, year-1, plan.Input{Targets: map[plan.Indicator]string{plan.PMEShare: "25", plan.PaymentDays: "40",
				plan.OnTime: "85", plan.Barometer: "6"}, Referent: buyer.Name, Public: true})
			return err
		},
		func() error { return svc.Publish(ctx, buyer, last) },
		func() error {
			return svc.Assess(ctx, buyer, last, "La part des achats auprès de PME progresse mais reste sous la cible de 25 % ; "+
				"les délais de paiement baissent. L'an prochain : allotir les marchés d'entretien et publier nos besoins sur Passerelle.")
		},
		func() error {
			return svc.Comment(ctx, staff, last, "Bilan honnête et chiffré. Nous suivrons l'allotissement promis.")
		},
		func() (err error) {
			current, err = svc.Save(ctx, buyer, year, plan.Input{Targets: map[plan.Indicator]string{plan.PMEShare: "25", plan.PaymentDays: "35",
				plan.Requests: "4", plan.SMEContracts: "1"}, Referent: buyer.Name, Public: true})
			return err
		},
		func() error { return svc.Publish(ctx, buyer, current) },
	)
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("demo: plans: %w", err)
		}
	}
	return nil
}
