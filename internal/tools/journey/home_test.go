// Package journey holds the browser journeys: real users' paths through the
// real application in headless Chromium.
package journey

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"passerelle/internal/tools/browsertest"
)

// A visitor opens the home page in French, switches to English, comes back,
// and the choice holds across pages; the page also fits a 360 px phone.
func TestHomeLanguageSwitch(t *testing.T) {
	b := browsertest.Start(t)
	b.Do(
		chromedp.Navigate(b.URL("/")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)),
	)
	if lang, h1 := b.Attr("html", "lang"), b.Text("h1"); lang != "fr" || !strings.Contains(h1, "PME") {
		t.Fatalf("home: lang %q, h1 %q", lang, h1)
	}
	b.Screenshot("fr")

	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=lang-en]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=en] [data-testid=home-title]`)),
	)
	if h1 := b.Text("h1"); !strings.Contains(h1, "SMEs") {
		t.Fatalf("after switching to English, h1 %q", h1)
	}
	b.Screenshot("en")

	// The choice is remembered: another page load stays in English.
	b.Do(
		chromedp.Navigate(b.URL("/page-absente")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-page]`)),
	)
	if h1 := b.Text("h1"); h1 != "Page not found" {
		t.Errorf("404 in English: h1 %q", h1)
	}

	// Switching back returns to the same page, in French.
	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=lang-fr]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=fr] [data-testid=error-page]`)),
	)
	if h1 := b.Text("h1"); h1 != "Page introuvable" {
		t.Errorf("back to French on the same page: h1 %q", h1)
	}

	// On a 360 px phone nothing overflows sideways.
	b.Do(
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(b.URL("/")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)),
	)
	if browsertest.Get(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Error("home page scrolls sideways on a 360 px phone")
	}
	b.Screenshot("phone")
}
