// Package components holds the small view pieces reused by every page:
// form fields with their errors, the error summary, pagination, badges,
// empty states.
package components

// Field is one form control with its label, value and error, already translated.
type Field struct {
	Name         string
	Label        string
	Type         string // text, email, password, url, date, number, search, textarea, select, checkbox, checkboxes, places, hidden
	Value        string
	Values       []string // chosen options of a multiselect or checkboxes
	Error        string
	Hint         string
	Required     bool
	Autocomplete string
	MaxLength    int
	Options      []Option
	Accept       string       // the kinds of file a file field takes (".csv,text/csv")
	Places       *PlacePicker // a "places" field: régions and départements
}

// Option is one choice of a select.
type Option struct {
	Value string
	Label string
}

// Form is a whole form: where it posts, its fields and its button.
type Form struct {
	Action  string
	Submit  string
	Fields  []Field
	Errors  []Field // fields in error, for the summary at the top
	Summary string  // heading of the error summary
	Danger  bool    // the action destroys something
	TestID  string
	// Multipart sends the form as multipart/form-data (it holds a file).
	Multipart bool
}

// Pager is the state of a paginated list.
type Pager struct {
	Page, Pages, Total int
	PrevURL, NextURL   string
	Label              string // "Page 2 sur 7", translated
}

// chosen reports whether an option is among a multi-valued field's values.
func chosen(f Field, v string) bool {
	for _, x := range f.Values {
		if x == v {
			return true
		}
	}
	return false
}
