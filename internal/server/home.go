package server

import (
	"net/http"

	"passerelle/internal/platform/i18n"
	"passerelle/web/pages/home"
)

// home renders the landing page with the association's published figures.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	v := home.View{
		Page: s.page(r, "home.page_title"),
		Figures: []home.Figure{
			{Value: l.Percent(0.224), Label: l.T("home.figures.share_2013")},
			{Value: l.Percent(0.24), Label: l.T("home.figures.share_2015")},
			{Value: "58/100", Label: l.T("home.figures.barometer")},
			{Value: l.Percent(0.885), Label: l.T("home.figures.on_time")},
		},
	}
	s.render(w, r, http.StatusOK, home.Page(v))
}
