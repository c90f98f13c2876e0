// Package layouts holds the page frame shared by every screen: head,
// header with navigation and language switch, main landmark, footer.
package layouts

// Page is what the frame needs to know about the page it wraps.
type Page struct {
	Title string // the page's own name, already translated; the site name is appended
	Path  string // the request's path and query, so the language switch comes back here
	Nav   []NavItem
	Flash string // a confirmation shown once, already translated
	// UserName is the signed-in user's name; empty for a visitor. When set,
	// the header shows a sign-out button (a POST form).
	UserName string
}

// NavItem is one link of the main navigation.
type NavItem struct {
	Href    string
	Label   string // already translated
	Current bool
	// More: on a wide screen, under the "More" menu rather than in the
	// line, so that the line never wraps. On a phone every item is in the
	// compact menu.
	More bool
}

// hasMore tells whether some items go under "More".
func hasMore(items []NavItem) bool {
	for _, it := range items {
		if it.More {
			return true
		}
	}
	return false
}
