package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"passerelle/internal/member"
	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// Access levels of the routes.
const (
	public    = "public"
	signedIn  = "signed-in"
	owner     = "owner"
	smeOnly   = "sme"
	buyerOnly = "buyer"
	staffOnly = "staff"
	adminOnly = "admin"
)

// routeLevels names the access level of every route. A route added to the
// router without a line here fails TestEveryRouteHasTheExpectedAccess.
var routeLevels = map[string]string{
	"GET /healthz":                                       public,
	"GET /readyz":                                        public,
	"GET /static/*":                                      public,
	"GET /":                                              public,
	"POST /langue":                                       public,
	"GET /adhesion":                                      public,
	"POST /adhesion":                                     public,
	"GET /adhesion/merci":                                public,
	"GET /connexion":                                     public,
	"POST /connexion":                                    public,
	"GET /mot-de-passe/oubli":                            public,
	"POST /mot-de-passe/oubli":                           public,
	"GET /mot-de-passe/nouveau":                          public,
	"POST /mot-de-passe/nouveau":                         public,
	"GET /invitation":                                    public,
	"POST /invitation":                                   public,
	"POST /deconnexion":                                  signedIn,
	"GET /espace":                                        signedIn,
	"GET /compte":                                        signedIn,
	"GET /compte/donnees.json":                           signedIn,
	"POST /compte/supprimer":                             signedIn,
	"POST /compte/notifications":                         signedIn,
	"POST /compte/mot-de-passe":                          signedIn,
	"POST /compte/deconnexion-partout":                   signedIn,
	"GET /desabonnement":                                 public,
	"POST /desabonnement":                                public,
	"POST /compte/invitations":                           owner,
	"POST /compte/invitations/{id}/revoquer":             owner,
	"POST /compte/fermer":                                owner,
	"GET /equipe/adhesions":                              staffOnly,
	"GET /equipe/membres":                                staffOnly,
	"POST /equipe/organisations/{id}/{decision}":         staffOnly,
	"GET /equipe/journal":                                staffOnly,
	"GET /equipe/courriels":                              staffOnly,
	"GET /admin/equipe":                                  adminOnly,
	"POST /admin/equipe/invitations":                     adminOnly,
	"POST /admin/equipe/invitations/{id}/revoquer":       adminOnly,
	"GET /offres":                                        public,
	"GET /offres/{id}":                                   public,
	"GET /cpv":                                           public,
	"GET /annuaire":                                      signedIn,
	"GET /entreprises/{id}":                              signedIn,
	"GET /espace/offres":                                 smeOnly,
	"GET /espace/offres/nouvelle":                        smeOnly,
	"POST /espace/offres/nouvelle":                       smeOnly,
	"GET /espace/offres/{id}/modifier":                   smeOnly,
	"POST /espace/offres/{id}/modifier":                  smeOnly,
	"POST /espace/offres/{id}/soumettre":                 smeOnly,
	"POST /espace/offres/{id}/archiver":                  smeOnly,
	"GET /espace/profil":                                 smeOnly,
	"POST /espace/profil":                                smeOnly,
	"POST /espace/profil/certifications":                 smeOnly,
	"POST /espace/profil/certifications/{id}/supprimer":  smeOnly,
	"POST /espace/profil/references":                     smeOnly,
	"POST /espace/profil/references/{id}/supprimer":      smeOnly,
	"GET /espace/profil/import":                          smeOnly,
	"POST /espace/profil/import":                         smeOnly,
	"GET /equipe/moderation":                             staffOnly,
	"POST /equipe/moderation/{kind}/{id}/{decision}":     staffOnly,
	"GET /demandes/{id}/lien":                            public,
	"POST /demandes/{id}/lien":                           public,
	"GET /demandes/{id}":                                 signedIn,
	"GET /demandes/{id}/echanges/{org}":                  signedIn,
	"POST /demandes/{id}/echanges/{org}":                 signedIn,
	"POST /demandes/{id}/echanges/{org}/signaler":        signedIn,
	"GET /demandes":                                      smeOnly,
	"GET /demandes/pour-vous":                            smeOnly,
	"POST /demandes/{id}/correspondances/{org}/avis":     signedIn,
	"POST /demandes/recherches":                          smeOnly,
	"POST /demandes/recherches/{id}/supprimer":           smeOnly,
	"POST /demandes/{id}/interet":                        smeOnly,
	"POST /demandes/{id}/pas-interesse":                  smeOnly,
	"GET /espace/demandes":                               buyerOnly,
	"GET /espace/demandes/nouvelle":                      buyerOnly,
	"POST /espace/demandes/nouvelle":                     buyerOnly,
	"GET /espace/demandes/{id}":                          buyerOnly,
	"GET /espace/demandes/{id}/modifier":                 buyerOnly,
	"POST /espace/demandes/{id}/modifier":                buyerOnly,
	"POST /espace/demandes/{id}/soumettre":               buyerOnly,
	"POST /espace/demandes/{id}/cloturer":                buyerOnly,
	"POST /espace/demandes/{id}/suite":                   buyerOnly,
	"POST /espace/demandes/{id}/suite/modifier":          buyerOnly,
	"POST /espace/demandes/{id}/reponses/{org}/{action}": buyerOnly,
	"GET /espace/demandes/{id}/selection.csv":            buyerOnly,
	"GET /observatoire":                                  signedIn,
	"GET /observatoire/{chart}":                          signedIn,
	"GET /barometre":                                     smeOnly,
	"POST /barometre":                                    smeOnly,
	"GET /plans":                                         public,
	"GET /plans/{id}":                                    public,
	"POST /plans/{id}/commentaires":                      signedIn,
	"POST /plans/comite":                                 staffOnly,
	"POST /plans/{id}/cloturer":                          staffOnly,
	"GET /espace/plan":                                   buyerOnly,
	"POST /espace/plan":                                  buyerOnly,
	"POST /espace/plan/{id}/publier":                     buyerOnly,
	"POST /espace/plan/{id}/bilan":                       buyerOnly,
	"GET /espace/declarations":                           buyerOnly,
	"POST /espace/declarations":                          buyerOnly,
	"GET /equipe/declarations":                           staffOnly,
	"GET /equipe/declarations/modele.csv":                staffOnly,
	"POST /equipe/declarations/import":                   staffOnly,
	"GET /equipe/declarations/import/{id}":               staffOnly,
	"GET /equipe/declarations/import/{id}/etat":          staffOnly,
	"POST /equipe/declarations/import/{id}/valider":      staffOnly,
	"GET /equipe/barometre":                              staffOnly,
	"POST /equipe/barometre":                             staffOnly,
	"POST /equipe/barometre/{id}/cloturer":               staffOnly,
	"GET /equipe/indicateurs":                            staffOnly,
	"GET /equipe/indicateurs.csv":                        staffOnly,
	"GET /equipe/registres":                              staffOnly,
	"GET /acheteurs-publics":                             public,
	"GET /acheteurs-publics/{chart}":                     public,
}

// concrete turns a route pattern into a URL to request.
func concrete(pattern string) string {
	r := strings.NewReplacer("{id}", "999999", "{kind}", "offer", "{decision}", "publier", "{org}", "999999", "{action}", "shortlist", "*", "css/app.css",
		"acheteurs-publics/{chart}", "acheteurs-publics/marches.csv", "{chart}", "tendance.csv")
	return r.Replace(pattern)
}

// allowedStatus is what a permitted request answers. POSTs send an empty
// form, so they fail validation (422) rather than change anything.
var allowedStatus = map[string]int{
	"GET /connexion":                                 http.StatusOK,
	"GET /mot-de-passe/nouveau":                      http.StatusGone, // no token
	"GET /invitation":                                http.StatusGone,
	"POST /langue":                                   http.StatusSeeOther,
	"POST /deconnexion":                              http.StatusSeeOther,
	"POST /equipe/organisations/{id}/{decision}":     http.StatusNotFound, // no such organisation
	"GET /offres/{id}":                               http.StatusNotFound, // no such offer
	"GET /entreprises/{id}":                          http.StatusNotFound,
	"GET /espace/offres/{id}/modifier":               http.StatusNotFound,
	"POST /espace/offres/{id}/soumettre":             http.StatusNotFound,
	"POST /equipe/moderation/{kind}/{id}/{decision}": http.StatusNotFound,
	"GET /desabonnement":                             http.StatusNotFound, // no category
	"POST /desabonnement":                            http.StatusNotFound, // no token
	"POST /compte/notifications":                     http.StatusSeeOther, // nothing ticked: every optional mail off
	"POST /compte/deconnexion-partout":               http.StatusSeeOther,
	"POST /compte/invitations/{id}/revoquer":         http.StatusSeeOther, // no such invitation: back with a message
	"POST /admin/equipe/invitations/{id}/revoquer":   http.StatusSeeOther,
	// Destructive actions without their confirmation box go back with a message.
	"POST /espace/offres/{id}/archiver":                 http.StatusSeeOther,
	"POST /espace/profil/certifications/{id}/supprimer": http.StatusSeeOther,
	"POST /espace/profil/references/{id}/supprimer":     http.StatusSeeOther,
	"POST /espace/profil/import":                        http.StatusSeeOther, // nothing ticked: nothing imported
	"POST /espace/profil":                               http.StatusSeeOther, // an empty profile is a valid profile
	// Requests: no such request (nor a link's token, nor a saved search).
	"GET /demandes/{id}/lien":                            http.StatusGone,
	"POST /demandes/{id}/lien":                           http.StatusGone,
	"GET /demandes/{id}":                                 http.StatusNotFound,
	"GET /demandes/{id}/echanges/{org}":                  http.StatusNotFound,
	"POST /demandes/{id}/echanges/{org}/signaler":        http.StatusSeeOther, // no confirmation box
	"POST /demandes/recherches":                          http.StatusSeeOther, // nothing to save: back with a message
	"POST /demandes/recherches/{id}/supprimer":           http.StatusNotFound,
	"POST /demandes/{id}/interet":                        http.StatusNotFound,
	"POST /demandes/{id}/pas-interesse":                  http.StatusNotFound,
	"POST /demandes/{id}/correspondances/{org}/avis":     http.StatusNotFound,
	"POST /demandes/{id}/echanges/{org}":                 http.StatusNotFound,
	"GET /espace/demandes/{id}":                          http.StatusNotFound,
	"GET /espace/demandes/{id}/modifier":                 http.StatusNotFound,
	"POST /espace/demandes/{id}/soumettre":               http.StatusNotFound,
	"POST /espace/demandes/{id}/cloturer":                http.StatusNotFound,
	"POST /espace/demandes/{id}/suite":                   http.StatusNotFound,
	"POST /espace/demandes/{id}/suite/modifier":          http.StatusNotFound,
	"POST /espace/demandes/{id}/reponses/{org}/{action}": http.StatusNotFound,
	"GET /espace/demandes/{id}/selection.csv":            http.StatusNotFound,
	// Plans: no such plan.
	"GET /plans/{id}":                http.StatusNotFound,
	"POST /plans/{id}/commentaires":  http.StatusNotFound,
	"POST /plans/{id}/cloturer":      http.StatusNotFound,
	"POST /espace/plan/{id}/publier": http.StatusNotFound,
	"POST /espace/plan/{id}/bilan":   http.StatusNotFound,
	// Indicators: no such import, no campaign open.
	"GET /equipe/declarations/import/{id}":          http.StatusNotFound,
	"GET /equipe/declarations/import/{id}/etat":     http.StatusNotFound,
	"POST /equipe/declarations/import/{id}/valider": http.StatusNotFound,
	"POST /equipe/barometre/{id}/cloturer":          http.StatusConflict,
}

func expected(route, level string, role string) int {
	method := strings.SplitN(route, " ", 2)[0]
	permitted := false
	switch level {
	case public:
		permitted = true
	case signedIn:
		permitted = role != "visitor" && role != "suspended"
	case owner:
		permitted = role == "sme" || role == "buyer"
	case smeOnly:
		permitted = role == "sme"
	case buyerOnly:
		permitted = role == "buyer"
	case staffOnly:
		permitted = role == "staff" || role == "admin"
	case adminOnly:
		permitted = role == "admin"
	}
	if !permitted {
		if (role == "visitor" || role == "suspended") && method == http.MethodGet {
			return http.StatusSeeOther // to the sign-in page
		}
		return http.StatusForbidden
	}
	if route == "GET /connexion" && role != "visitor" && role != "suspended" {
		return http.StatusSeeOther // already signed in: to the space
	}
	if s, ok := allowedStatus[route]; ok {
		return s
	}
	if method == http.MethodPost {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

func TestEveryRouteHasTheExpectedAccess(t *testing.T) {
	app := servertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, app.DB, false); err != nil {
		t.Fatal(err)
	}

	var routes []string
	err := chi.Walk(app.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodHead {
			return nil
		}
		r := method + " " + route
		routes = append(routes, r)
		if _, ok := routeLevels[r]; !ok {
			t.Errorf("route %s has no access rule in routeLevels", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != len(routeLevels) {
		t.Errorf("router has %d routes, the rules name %d", len(routes), len(routeLevels))
	}

	signedInClient := func(email string) *http.Client { return signInAs(t, app, email) }
	clients := map[string]*http.Client{
		"visitor": app.Client(),
		"sme":     signedInClient("pme@passerelle.test"),
		"buyer":   signedInClient("acheteur@passerelle.test"),
		"staff":   signedInClient("equipe@passerelle.test"),
		"admin":   signedInClient("admin@passerelle.test"),
	}
	// A user signed in before their organisation was suspended loses access
	// at the next request.
	if _, err := app.DB.Exec(ctx, `UPDATE organisations SET status = 'member' WHERE id =
		(SELECT organisation_id FROM users WHERE email = 'candidat1@passerelle.test')`); err != nil {
		t.Fatal(err)
	}
	clients["suspended"] = signedInClient("candidat1@passerelle.test")
	if _, err := app.DB.Exec(ctx, `UPDATE organisations SET status = $1 WHERE id =
		(SELECT organisation_id FROM users WHERE email = 'candidat1@passerelle.test')`, member.StatusSuspended); err != nil {
		t.Fatal(err)
	}

	for _, role := range []string{"visitor", "sme", "buyer", "staff", "admin", "suspended"} {
		for _, route := range routes {
			if route == "POST /deconnexion" || route == "POST /compte/supprimer" || route == "POST /compte/fermer" ||
				route == "POST /compte/deconnexion-partout" {
				continue // checked below, last: they end the session or the account
			}
			check(t, clients[role], app.URL, role, route)
		}
	}
	for _, role := range []string{"visitor", "sme", "buyer", "staff", "admin", "suspended"} {
		for _, route := range []string{"POST /compte/supprimer", "POST /compte/fermer", "POST /deconnexion"} {
			check(t, clients[role], app.URL, role, route)
		}
	}
	// Signing out everywhere ends the sessions above too: fresh ones.
	fresh := map[string]*http.Client{"visitor": app.Client(), "sme": signedInClient("pme@passerelle.test"),
		"buyer": signedInClient("acheteur@passerelle.test"), "staff": signedInClient("equipe@passerelle.test"),
		"admin": signedInClient("admin@passerelle.test"), "suspended": clients["suspended"]}
	for _, role := range []string{"visitor", "sme", "buyer", "staff", "admin", "suspended"} {
		check(t, fresh[role], app.URL, role, "POST /compte/deconnexion-partout")
	}
}

func check(t *testing.T, c *http.Client, base, role, route string) {
	t.Helper()
	method, pattern, _ := strings.Cut(route, " ")
	req, _ := http.NewRequest(method, base+concrete(pattern), strings.NewReader(""))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := expected(route, routeLevels[route], role); resp.StatusCode != want {
		t.Errorf("%-9s %-48s = %d, want %d", role, route, resp.StatusCode, want)
	}
}
