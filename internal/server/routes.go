package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"passerelle/internal/member"
	"passerelle/web"
)

// routes is the one place where every route, its method and its access
// level are declared.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	if s.metrics != nil {
		r.Use(s.metrics.Middleware) // latency by route, for /metrics on its own address
	}
	r.Use(
		dropBadRequestID, // a client-sent id is kept only when short and plain
		middleware.RequestID,
		middleware.GetHead,
		clientIP(s.cfg.TrustedProxies), // the client's address, for rate limits and the log
		limitBody,
		secureHeaders(s.cfg.Production()),
		s.accessLog,
		s.language,
		s.recoverPanic,                           // before the session and actor: a panic there gets the friendly page too
		middleware.Timeout(s.cfg.RequestTimeout), // also bounds loading the session and the actor
		privateResponses,                         // outside the session: decides the Cache-Control of signed-in pages and exports last
		s.sessions.LoadAndSave,
		s.loadActor,
		middleware.Compress(5, "text/html", "text/css", "application/json", "image/svg+xml", "text/plain"),
		s.crossOriginProtection,
		s.parseForm,
	)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusMethodNotAllowed) })

	// Operations: no session, no page.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/static/*", staticFiles(http.StripPrefix("/static/", http.FileServerFS(web.Static()))).ServeHTTP)

	// Public pages (visitors and members alike).
	r.Get("/", s.home)
	r.Post("/langue", s.setLanguage)
	r.Get("/adhesion", s.applyShow)
	r.Get("/adhesion/merci", s.applyThanks)
	r.Get("/connexion", s.signInShow)
	r.Get("/mot-de-passe/oubli", s.forgotShow)
	r.Get("/mot-de-passe/nouveau", s.resetShow)
	r.Get("/invitation", s.invitationShow)
	r.Get("/offres", s.catalogue) // the public showcase for visitors
	r.Get("/offres/{id}", s.offerShow)
	r.Get("/cpv", s.cpvSearch)
	// The observatory of public buyers: public, as the registers it reads.
	r.Get("/acheteurs-publics", s.publicBuyers)
	r.Get("/acheteurs-publics/{chart}", s.publicBuyersCSV) // {chart}.csv
	// Progress plans: the public ones for all, more for staff, the
	// committee and their large account (the service decides).
	r.Get("/plans", s.plansList)
	r.Get("/plans/{id}", s.planShow)
	r.Get("/desabonnement", s.unsubscribeShow)
	r.Post("/desabonnement", s.unsubscribe)  // also the mail clients' one-click POST (RFC 8058)
	r.Get("/demandes/{id}/lien", s.linkShow) // one-click links in mails: the signed token is the key
	// Rate-limited per IP.
	r.Group(func(r chi.Router) {
		r.Use(s.rateLimit())
		r.Post("/adhesion", s.apply)
		r.With(s.accountRateLimit()).Post("/connexion", s.signIn)
		r.With(s.accountRateLimit()).Post("/mot-de-passe/oubli", s.forgot)
		r.Post("/mot-de-passe/nouveau", s.reset)
		r.Post("/invitation", s.invitationAccept)
		r.Post("/demandes/{id}/lien", s.linkPost)
	})

	// Any signed-in user.
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		r.Post("/deconnexion", s.signOut)
		r.Get("/espace", s.space)
		r.Get("/compte", s.account)
		r.Get("/compte/donnees.json", s.accountExport)
		r.Post("/compte/supprimer", s.accountDelete)
		r.Post("/compte/notifications", s.accountNotifications)
		r.Post("/compte/mot-de-passe", s.accountPassword)
		r.Post("/compte/deconnexion-partout", s.accountSignOutAll)
		r.Get("/annuaire", s.directory)
		r.Get("/entreprises/{id}", s.profileShow)
		// A request: its buyer, an SME it is visible to, staff (the service decides).
		r.Get("/demandes/{id}", s.requestShow)
		// A conversation: the buyer and the SME once accepted, staff once reported.
		r.Get("/demandes/{id}/echanges/{org}", s.conversationShow)
		r.Post("/demandes/{id}/echanges/{org}", s.conversationPost)
		r.Post("/demandes/{id}/echanges/{org}/signaler", s.conversationReport)
		// Feedback on a match: its buyer, the SME, staff (the service decides).
		r.Post("/demandes/{id}/correspondances/{org}/avis", s.matchFeedback)
		// The observatory: the aggregate for all, every account for staff,
		// its own for a buyer (the service decides).
		r.Get("/observatoire", s.observatory)
		r.Get("/observatoire/{chart}", s.observatoryCSV) // {chart}.csv
		// Comments on a plan's self-assessment: staff and the year's
		// committee of SMEs (the service decides).
		r.Post("/plans/{id}/commentaires", s.planComment)
	})

	// Users of a member SME.
	r.Group(func(r chi.Router) {
		r.Use(s.require(member.Actor.IsSME))
		r.Get("/espace/offres", s.myOffers)
		r.Get("/espace/offres/nouvelle", s.offerNew)
		r.Post("/espace/offres/nouvelle", s.offerCreate)
		r.Get("/espace/offres/{id}/modifier", s.offerEdit)
		r.Post("/espace/offres/{id}/modifier", s.offerUpdate)
		r.Post("/espace/offres/{id}/soumettre", s.offerSubmit)
		r.Post("/espace/offres/{id}/archiver", s.offerArchive)
		r.Get("/espace/profil", s.profileEdit)
		r.Post("/espace/profil", s.profileUpdate)
		r.Post("/espace/profil/certifications", s.certAdd)
		r.Post("/espace/profil/certifications/{id}/supprimer", s.profileDelete(s.profiles.DeleteCertification))
		r.Post("/espace/profil/references", s.refAdd)
		r.Post("/espace/profil/references/{id}/supprimer", s.profileDelete(s.profiles.DeleteReference))
		r.Get("/espace/profil/import", s.importShow)
		r.Post("/espace/profil/import", s.importAwards)
		r.Get("/demandes", s.requestsBrowse)
		r.Get("/demandes/pour-vous", s.requestsForYou)
		r.Post("/demandes/recherches", s.searchSave)
		r.Post("/demandes/recherches/{id}/supprimer", s.searchDelete)
		r.Post("/demandes/{id}/interet", s.requestInterest)
		r.Post("/demandes/{id}/pas-interesse", s.requestNotInterested)
		r.Get("/barometre", s.barometer)
		r.Post("/barometre", s.barometerAnswer)
	})

	// Users of a member large account (buyers).
	r.Group(func(r chi.Router) {
		r.Use(s.require(member.Actor.IsBuyer))
		r.Get("/espace/demandes", s.myRequests)
		r.Get("/espace/demandes/nouvelle", s.requestNew)
		r.Post("/espace/demandes/nouvelle", s.requestCreate)
		r.Get("/espace/demandes/{id}", s.requestShow)
		r.Get("/espace/demandes/{id}/modifier", s.requestEdit)
		r.Post("/espace/demandes/{id}/modifier", s.requestUpdate)
		r.Post("/espace/demandes/{id}/soumettre", s.requestSubmit)
		r.Post("/espace/demandes/{id}/cloturer", s.requestClose)
		r.Post("/espace/demandes/{id}/suite", s.requestFollowUp)
		r.Post("/espace/demandes/{id}/suite/modifier", s.requestFollowUpChange)
		r.Post("/espace/demandes/{id}/reponses/{org}/{action}", s.requestRespond)
		r.Get("/espace/demandes/{id}/selection.csv", s.requestExport)
		r.Get("/espace/declarations", s.declarations)
		r.Post("/espace/declarations", s.declare)
		r.Get("/espace/plan", s.myPlan)
		r.Post("/espace/plan", s.planSave)
		r.Post("/espace/plan/{id}/publier", s.planPublish)
		r.Post("/espace/plan/{id}/bilan", s.planAssess)
	})

	// Owners of a member organisation.
	r.Group(func(r chi.Router) {
		r.Use(s.require(member.Actor.IsOwner))
		r.Post("/compte/invitations", s.accountInvite)
		r.Post("/compte/invitations/{id}/revoquer", s.revokeInvitation("/compte"))
		r.Post("/compte/fermer", s.accountClose)
	})

	// Association staff (and admins).
	r.Group(func(r chi.Router) {
		r.Use(s.require(member.Actor.IsStaff))
		r.Post("/plans/comite", s.plansInvite)
		r.Post("/plans/{id}/cloturer", s.planClose)
		r.Get("/equipe/adhesions", s.staffQueue)
		r.Get("/equipe/membres", s.staffMembers)
		r.Post("/equipe/organisations/{id}/{decision}", s.staffDecide)
		r.Get("/equipe/journal", s.staffAudit)
		r.Get("/equipe/courriels", s.staffMailbox)
		r.Get("/equipe/moderation", s.moderationQueue)
		r.Post("/equipe/moderation/{kind}/{id}/{decision}", s.moderationDecide)
		r.Get("/equipe/declarations", s.staffDeclarations)
		r.Get("/equipe/declarations/modele.csv", s.declImportTemplate)
		r.Post("/equipe/declarations/import", s.declImportUpload) // a file: see uploads
		r.Get("/equipe/declarations/import/{id}", s.declImportShow)
		r.Get("/equipe/declarations/import/{id}/etat", s.declImportStatus)
		r.Post("/equipe/declarations/import/{id}/valider", s.declImportConfirm)
		r.Get("/equipe/barometre", s.staffBarometer)
		r.Post("/equipe/barometre", s.campaignOpen)
		r.Post("/equipe/barometre/{id}/cloturer", s.campaignClose)
		r.Get("/equipe/indicateurs", s.platformFigures)
		r.Get("/equipe/indicateurs.csv", s.platformCSV)
		r.Get("/equipe/registres", s.staffRegisters)
	})

	// Association admins.
	r.Group(func(r chi.Router) {
		r.Use(s.require(member.Actor.IsAdmin))
		r.Get("/admin/equipe", s.adminStaff)
		r.Post("/admin/equipe/invitations", s.adminInvite)
		r.Post("/admin/equipe/invitations/{id}/revoquer", s.revokeInvitation("/admin/equipe"))
	})

	return r
}

// staticFiles serves the embedded files; versioned URLs (?v=hash) are
// cached for a year since their content never changes.
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		next.ServeHTTP(w, r)
	})
}
