package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/spreadsheet"
	"passerelle/web/components"
	indicatorpage "passerelle/web/pages/indicator"
)

// Yearly purchasing declarations: a buyer's form, staff's list and the
// CSV import checked then applied by jobs.

// declarationFields is the declaration form with what was typed.
func declarationFields(l *i18n.Localizer, in indicator.Input) []components.Field {
	return []components.Field{
		{Name: "year", Label: l.T("declarations.year"), Type: "number", Value: in.Year, Required: true},
		{Name: "total", Label: l.T("declarations.total"), Type: "text", Value: in.Total, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "pme", Label: l.T("declarations.pme"), Type: "text", Value: in.PME, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "eti", Label: l.T("declarations.eti"), Type: "text", Value: in.ETI, Required: true, Hint: l.T("declarations.euros_hint")},
		{Name: "payment_days", Label: l.T("declarations.payment_days"), Type: "text", Value: in.PaymentDays, Required: true},
		{Name: "on_time", Label: l.T("declarations.on_time"), Type: "text", Value: in.OnTime, Required: true, Hint: l.T("declarations.on_time_hint")},
	}
}

// declarations is the buyer's page: the form and every version declared.
func (s *Server) declarations(w http.ResponseWriter, r *http.Request) {
	in := indicator.Input{Year: strconv.Itoa(time.Now().Year() - 1)}
	if y := r.URL.Query().Get("annee"); y != "" {
		in.Year = y
	}
	s.declarationsPage(w, r, http.StatusOK, in, nil)
}

func (s *Server) declarationsPage(w http.ResponseWriter, r *http.Request, status int, in indicator.Input, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	history, err := s.indicators.History(r.Context(), a, a.OrgID)
	if err != nil {
		s.failure(w, r, err)
		return
	}
	form := withErrors(l, components.Form{Action: "/espace/declarations", Submit: l.T("declarations.submit"), TestID: "declaration-form",
		Fields: append(declarationFields(l, in), onceField(r))}, errs)
	v := indicatorpage.Report{Page: s.page(r, "declarations.title"), Title: l.T("declarations.title"), Lead: l.T("declarations.lead"), TestID: "declarations",
		Sections: []indicatorpage.Section{
			{ID: "declarer", Title: l.T("declarations.form_title"), Lead: l.T("declarations.form_lead"), Forms: []components.Form{form}},
			{ID: "historique", Title: l.T("declarations.history"), Table: declarationTable(l, history, true), Empty: l.T("declarations.empty"),
				Links: []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title")}}},
		}}
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// declarationTable lists declarations; history adds the version, the
// author and the time of each.
func declarationTable(l *i18n.Localizer, list []indicator.Declaration, history bool) *indicatorpage.Table {
	t := &indicatorpage.Table{TestID: "declarations-table"}
	if !history {
		t.Headers = append(t.Headers, l.T("observatory.account"))
	}
	t.Headers = append(t.Headers, l.T("declarations.year"), l.T("declarations.total"), l.T("declarations.pme"), l.T("observatory.pme_share"),
		l.T("declarations.eti"), l.T("declarations.payment_days"), l.T("declarations.on_time"))
	if history {
		t.Headers = append(t.Headers, l.T("declarations.version"), l.T("declarations.by"))
	}
	for _, d := range list {
		var row []string
		if !history {
			row = append(row, d.OrgName)
		}
		row = append(row, strconv.Itoa(d.Year), l.Money(d.Total), l.Money(d.PME), l.Percent(d.PMEShare()), l.Money(d.ETI),
			decimal(l, d.PaymentDays), l.Percent(d.OnTime/100))
		if history {
			by := d.AuthorName
			if by == "" {
				by = l.T("declarations.source." + d.Source)
			}
			row = append(row, strconv.Itoa(d.Version), by+", "+l.DateTime(d.CreatedAt))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// declare records the buyer's declaration (a new year or a correction).
func (s *Server) declare(w http.ResponseWriter, r *http.Request) {
	a := actorFrom(r.Context())
	in := indicator.Input{Year: r.PostFormValue("year"), Total: r.PostFormValue("total"), PME: r.PostFormValue("pme"), ETI: r.PostFormValue("eti"),
		PaymentDays: r.PostFormValue("payment_days"), OnTime: r.PostFormValue("on_time")}
	_, err := s.indicators.Declare(onceCtx(r), a, a.OrgID, in)
	if errs, ok := fieldErrors(err); ok {
		s.declarationsPage(w, r, http.StatusUnprocessableEntity, in, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	s.flash(r, "declarations.flash_saved")
	http.Redirect(w, r, "/espace/declarations", http.StatusSeeOther)
}

// staffDeclarations is staff's page: import a file, the latest imports,
// the declarations that count for a year.
func (s *Server) staffDeclarations(w http.ResponseWriter, r *http.Request) {
	s.staffDeclarationsPage(w, r, http.StatusOK, nil)
}

func (s *Server) staffDeclarationsPage(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) {
	l := i18n.FromContext(r.Context())
	a := actorFrom(r.Context())
	// One year at a time (the latest by default): a few hundred accounts,
	// where every year of every account would be thousands of lines.
	desk, err := s.indicators.Desk(r.Context(), a, yearParam(r, "annee", 0))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	imports, years, year, current := desk.Imports, desk.Years, desk.Year, desk.Current
	upload := withErrors(l, components.Form{Action: "/equipe/declarations/import", Submit: l.T("import.submit"), TestID: "import-form", Multipart: true,
		Fields: []components.Field{{Name: "file", Label: l.T("import.file"), Type: "file", Required: true, Accept: ".csv,text/csv",
			Hint: l.T("import.file_hint", "Columns", strings.Join(columnNames(), " ; "), "Max", indicator.MaxImportBytes>>20)},
			{Name: once.Field, Type: "hidden", Value: once.Of(r.FormValue(once.Field))}}}, errs)
	v := indicatorpage.Report{Page: s.page(r, "declarations.staff_title"), Title: l.T("declarations.staff_title"), Lead: l.T("declarations.staff_lead"),
		TestID: "staff-declarations"}
	v.Sections = append(v.Sections, indicatorpage.Section{ID: "import", Title: l.T("import.title"), Lead: l.T("import.lead"), Forms: []components.Form{upload},
		Links: []indicatorpage.Link{{Href: "/equipe/declarations/modele.csv", Label: l.T("import.template"), TestID: "template"}}})
	imp := indicatorpage.Section{ID: "imports", Title: l.T("import.latest"), Empty: l.T("import.none")}
	for _, i := range imports {
		imp.Links = append(imp.Links, indicatorpage.Link{Href: fmt.Sprintf("/equipe/declarations/import/%d", i.ID), TestID: "import-link",
			Label: l.T("import.line", "File", i.FileName, "When", l.DateTime(i.CreatedAt), "Status", l.T("indicator.import.status."+i.Status),
				"Errors", i.ErrorCount)})
	}
	v.Sections = append(v.Sections, imp)
	title := l.T("declarations.current_all")
	if year != 0 {
		title = l.T("declarations.current_year", "Year", year)
	}
	inForce := indicatorpage.Section{ID: "en-vigueur", Title: title, Table: declarationTable(l, current, false),
		Empty: l.T("declarations.none"), Links: []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title")}}}
	if len(years) > 1 {
		var opts []components.Option
		for _, y := range years {
			opts = append(opts, components.Option{Value: strconv.Itoa(y), Label: strconv.Itoa(y)})
		}
		v.Filter = &components.Form{Action: "/equipe/declarations", Submit: l.T("observatory.show_year"),
			Fields: []components.Field{{Name: "annee", Label: l.T("observatory.year"), Type: "select", Value: strconv.Itoa(year), Options: opts}}}
	}
	v.Sections = append(v.Sections, inForce)
	s.render(w, r, status, indicatorpage.ReportView(v))
}

// columnNames are the import file's columns, in the template's order.
func columnNames() []string {
	var names []string
	for _, c := range indicator.Columns {
		names = append(names, c.Name)
	}
	return names
}

// declImportTemplate is an empty file with the expected header, in the
// format Excel saves in French.
func (s *Server) declImportTemplate(w http.ResponseWriter, r *http.Request) {
	head := columnNames()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="declarations-modele.csv"`)
	if err := spreadsheet.WriteCSV(w, [][]string{head}); err != nil {
		s.logError(r, "import template", err)
	}
}

// declImportUpload stores a file and starts its check.
func (s *Server) declImportUpload(w http.ResponseWriter, r *http.Request) {
	// parseForm left this body alone: the user is staff, it may be read.
	err := r.ParseMultipartForm(maxBody)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, map[string]string{"file": "indicator.err.too_large"})
		return
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		s.renderError(w, r, http.StatusBadRequest)
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, map[string]string{"file": "form.required"})
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, s.indicators.MaxImport+1))
	if err != nil {
		s.failure(w, r, err)
		return
	}
	id, err := s.indicators.Upload(once.With(r.Context(), r.FormValue(once.Field)), actorFrom(r.Context()), header.Filename, data)
	if errs, ok := fieldErrors(err); ok {
		s.staffDeclarationsPage(w, r, http.StatusUnprocessableEntity, errs)
		return
	}
	if err != nil {
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/equipe/declarations/import/%d", id), http.StatusSeeOther)
}

func (s *Server) declImportOf(w http.ResponseWriter, r *http.Request) (indicator.Import, bool) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return indicator.Import{}, false
	}
	i, err := s.indicators.GetImport(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		s.failure(w, r, err)
		return i, false
	}
	return i, true
}

func progressText(l *i18n.Localizer, i indicator.Import) string {
	return l.T("import.progress_"+i.Status, "Done", l.Int(int64(i.Done)), "Total", l.Int(int64(i.Total)))
}

// declImportShow is where an import stands: its progress, then its errors
// and preview, then its result.
func (s *Server) declImportShow(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	i, ok := s.declImportOf(w, r)
	if !ok {
		return
	}
	base := fmt.Sprintf("/equipe/declarations/import/%d", i.ID)
	v := indicatorpage.Report{Page: s.page(r, "import.page_title"), Title: l.T("import.page_title"), TestID: "import"}
	st := indicatorpage.Section{ID: "etat", Title: l.T("import.status_title"), Facts: []components.Fact{
		{Label: l.T("import.file"), Value: i.FileName},
		{Label: l.T("import.size"), Value: l.T("import.bytes", "Size", l.Int(i.Size))},
		{Label: l.T("import.by"), Value: i.AuthorName + ", " + l.DateTime(i.CreatedAt)},
		{Label: l.T("import.status"), Value: l.T("indicator.import.status." + i.Status)},
	}}
	if i.Running() {
		st.Progress = &indicatorpage.Progress{Label: l.T("import.progress_label"), Done: i.Done, Total: i.Total, Text: progressText(l, i),
			StatusURL: base + "/etat", Refresh: base, RefreshLabel: l.T("import.refresh")}
	}
	switch i.Status {
	case indicator.ImportImported:
		st.Alert, st.AlertKind = l.T("import.done", "Count", i.Valid), "success"
		st.Links = []indicatorpage.Link{{Href: "/observatoire", Label: l.T("observatory.title"), TestID: "to-observatory"}}
	case indicator.ImportFailed:
		st.Alert, st.AlertKind = l.T(i.Failure), "error"
	}
	v.Sections = append(v.Sections, st)
	if i.Status == indicator.ImportChecked {
		errs := indicatorpage.Section{ID: "erreurs", Title: l.T("import.errors_title", "Count", i.ErrorCount), Empty: l.T("import.no_errors")}
		if i.ErrorCount > 0 {
			errs.Alert, errs.AlertKind = l.T("import.refused", "Count", i.ErrorCount, "Shown", len(i.Errors)), "error"
			t := &indicatorpage.Table{TestID: "import-errors", Headers: []string{l.T("import.line_no"), l.T("import.column"), l.T("import.problem"), l.T("import.value")}}
			for _, e := range i.Errors {
				t.Rows = append(t.Rows, []string{strconv.Itoa(e.Line), e.Column, l.T(e.Code, "Ref", e.Ref, "Got", e.Got, "Column", e.Column), e.Value})
			}
			errs.Table = t
		}
		v.Sections = append(v.Sections, errs)
		pre := indicatorpage.Section{ID: "apercu", Title: l.T("import.preview_title"), Facts: []components.Fact{
			{Label: l.T("indicator.preview.kind.new"), Value: l.Int(int64(i.Preview.New))},
			{Label: l.T("indicator.preview.kind.correction"), Value: l.Int(int64(i.Preview.Corrections))},
			{Label: l.T("indicator.preview.kind.unchanged"), Value: l.Int(int64(i.Preview.Unchanged))},
		}}
		t := &indicatorpage.Table{TestID: "import-preview", Headers: []string{l.T("import.line_no"), l.T("observatory.account"), l.T("declarations.year"),
			l.T("declarations.total"), l.T("observatory.pme_share"), l.T("import.effect")}}
		for _, p := range i.Preview.Lines {
			t.Rows = append(t.Rows, []string{strconv.Itoa(p.Line), p.Name + " (" + p.SIREN + ")", strconv.Itoa(p.Year), l.Money(p.Figures.Total),
				l.Percent(p.Figures.PMEShare()), l.T("indicator.preview.kind." + p.Kind)})
		}
		if len(t.Rows) > 0 {
			pre.Table = t
		}
		if i.Importable() {
			pre.Forms = []components.Form{{Action: base + "/valider", TestID: "import-confirm",
				Submit: l.T("import.confirm", "Count", i.Preview.New+i.Preview.Corrections)}}
		} else if i.ErrorCount == 0 {
			pre.Alert, pre.AlertKind = l.T("import.nothing_new"), "warning"
		}
		pre.Links = []indicatorpage.Link{{Href: "/equipe/declarations", Label: l.T("import.another")}}
		v.Sections = append(v.Sections, pre)
	}
	s.render(w, r, http.StatusOK, indicatorpage.ReportView(v))
}

// declImportStatus is the import's progress for the page's script.
func (s *Server) declImportStatus(w http.ResponseWriter, r *http.Request) {
	l := i18n.FromContext(r.Context())
	i, ok := s.declImportOf(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": i.Status, "running": i.Running(), "done": i.Done, "total": i.Total,
		"text": progressText(l, i)})
}

// declImportConfirm writes a checked file.
func (s *Server) declImportConfirm(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if err := s.indicators.ConfirmImport(r.Context(), actorFrom(r.Context()), id); err != nil {
		s.failure(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/equipe/declarations/import/%d", id), http.StatusSeeOther)
}
