package journey

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// line is one rendered fact of a match: its list (reason, caveat, advice),
// its code (from its data-testid) and its text.
type line struct {
	Kind, TestID, Text, Href string
}

// readLines reads every fact line under css.
func readLines(b *browsertest.Browser, css string) []line {
	return browsertest.Get(b, chromedp.Evaluate[[]line](fmt.Sprintf(`[...document.querySelectorAll(%q)].map(li => ({
		Kind: li.dataset.kind, TestID: li.dataset.testid, Text: li.textContent.trim().replace(/\s+/g, ' '),
		Href: (li.querySelector('a') || {}).pathname || ''}))`, css+" [data-kind]")))
}

var (
	pastLine  = regexp.MustCompile(`(\d+) marchés? passés?`)
	localPart = regexp.MustCompile(`, dont (\d+) dans le département`)
	// What gives a sentence away as written for someone else.
	notForBuyer = regexp.MustCompile(`\b(Votre offre|Vos références|Vous avez|Vous êtes|Vous intervenez|Votre métier)\b`)
	notForSME   = regexp.MustCompile(`\b(Son offre|Ses références|Son métier|votre demande|pour vous|A déjà)\b`)
	forSME      = regexp.MustCompile(`\b(Vous|Votre|Vos|vous|votre|vos)\b`)
)

// checkLines checks a reader's lines: each in its own list, each "dont"
// a part of its line, each sentence in the reader's voice.
func checkLines(t *testing.T, where string, lines []line, sme bool) {
	t.Helper()
	for _, l := range lines {
		if !strings.HasPrefix(l.TestID, l.Kind+"-") {
			t.Errorf("%s: %q is a %s with test id %q", where, l.Text, l.Kind, l.TestID)
		}
		if m := pastLine.FindStringSubmatch(l.Text); m != nil && l.TestID == "reason-past_contracts" {
			whole, _ := strconv.Atoi(m[1])
			if p := localPart.FindStringSubmatch(l.Text); p != nil {
				if part, _ := strconv.Atoi(p[1]); part > whole {
					t.Errorf("%s: a part larger than its whole: %q", where, l.Text)
				}
			}
		}
		switch {
		case sme && l.Kind == "caveat":
			t.Errorf("%s: the SME reads a buyer's caveat: %q", where, l.Text)
		case !sme && l.Kind == "advice":
			t.Errorf("%s: the buyer reads the SME's advice: %q", where, l.Text)
		case sme && l.Kind == "reason" && (!forSME.MatchString(l.Text) || notForSME.MatchString(l.Text)):
			t.Errorf("%s: not in the SME's voice: %q", where, l.Text)
		case !sme && notForBuyer.MatchString(l.Text):
			t.Errorf("%s: not in the buyer's voice: %q", where, l.Text)
		case l.Kind == "advice" && !strings.HasPrefix(l.Href, "/espace/"):
			t.Errorf("%s: advice without the form that does it: %q → %q", where, l.Text, l.Href)
		}
	}
}

// header is where the header's parts sit: how many lines the wide
// navigation takes, the header's height, where the page's title starts.
type header struct {
	NavLines         int
	Height, TitleTop float64
	Overlaps         []string // parts of the bar drawn over one another
}

func readHeader(b *browsertest.Browser) header {
	return browsertest.Get(b, chromedp.Evaluate[header](`(() => {
		const items = [...document.querySelectorAll('[data-testid=nav-wide] > ul > li')].filter(li => li.offsetParent !== null);
		// Items whose middles are more than 10 px apart sit on different lines.
		const middles = items.map(li => { const r = li.getBoundingClientRect(); return (r.top + r.bottom) / 2; }).sort((a, b) => a - b);
		return {NavLines: middles.filter((m, i) => i === 0 || m - middles[i-1] > 10).length,
			Height: document.querySelector('.site-header').getBoundingClientRect().height,
			TitleTop: document.querySelector('main h1').getBoundingClientRect().top,
			Overlaps: [...document.querySelector('.site-header__inner').children].filter(e => e.offsetParent !== null)
				.map(e => ({name: e.className, box: e.getBoundingClientRect()})).sort((a, b) => a.box.left - b.box.left)
				.flatMap((e, i, all) => i > 0 && all[i-1].box.right > e.box.left + 1 ? [all[i-1].name + ' over ' + e.name] : [])};
	})()`))
}

// checkLayout takes the page at 1280 and 360 px: on a desktop the
// navigation holds on one line, on a phone the header is one compact bar
// and the title starts near the top; axe finds nothing serious at either.
func checkLayout(t *testing.T, b *browsertest.Browser, name, page string) {
	t.Helper()
	for _, width := range []int64{1280, 360} {
		b.Do(chromedp.EmulateViewport(width, 740), chromedp.Navigate(b.URL(page)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		h := readHeader(b)
		switch {
		case len(h.Overlaps) > 0:
			t.Errorf("%s at %d px: %v", name, width, h.Overlaps)
		case width == 1280 && (h.NavLines != 1 || h.Height > 80):
			t.Errorf("%s at 1280 px: navigation on %d lines, header %.0f px high", name, h.NavLines, h.Height)
		case width == 360 && (h.Height > 64 || h.TitleTop > 120):
			t.Errorf("%s at 360 px: header %.0f px high, title at %.0f px", name, h.Height, h.TitleTop)
		}
		b.Screenshot(fmt.Sprintf("%s-%d", name, width))
		b.Axe(fmt.Sprintf("%s (%d px)", page, width))
	}
	// The compact menu opens without a script and holds every item.
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=nav-compact] summary`)), chromedp.WaitVisible(chromedp.CSS(`.nav-compact__panel a`)))
	b.Screenshot(name + "-360-menu")
	b.Do(chromedp.EmulateViewport(1280, 900))
}

// The buyer reads the suggestions of a request and the SME the requests
// for it: every count coherent with its line, every sentence in its
// reader's voice, reasons, caveats and advice each in their own list, at
// 1280 and 360 px, with the navigation on one line at 1280 px.
func TestReadersReadMatchesInTheirOwnVoice(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	var id, smeOrg int64
	if err := b.App.DB.QueryRow(ctx, `SELECT r.id, u.organisation_id FROM purchase_requests r
		JOIN request_matches m ON m.request_id = r.id JOIN users u ON u.organisation_id = m.organisation_id
		WHERE r.anonymous AND r.status = 'open' AND u.email = $1 AND m.matched`, demo.SMEEmail).Scan(&id, &smeOrg); err != nil {
		t.Fatal(err)
	}

	signIn(b, "acheteur@passerelle.test", demo.Password)
	page := fmt.Sprintf("/espace/demandes/%d", id)
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)), chromedp.Navigate(b.URL(page)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=matches] [data-testid=match]`)))
	lines := readLines(b, `[data-testid=matches]`)
	reasons, caveats := 0, 0
	for _, l := range lines {
		switch l.Kind {
		case "reason":
			reasons++
		case "caveat":
			caveats++
		}
	}
	if reasons == 0 || caveats == 0 {
		t.Fatalf("the buyer reads %d reasons and %d caveats: %v", reasons, caveats, lines)
	}
	checkLines(t, "buyer's suggestions", lines, false)
	if rank := b.Text(`[data-testid=matches] [data-testid=match] h3 [data-testid=match-rank]`); rank != "n° 1" {
		t.Errorf("the first suggestion's rank in its heading: %q", rank)
	}
	checkLayout(t, b, "buyer-request", page)
	checkLayout(t, b, "observatory", "/observatoire")
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)), chromedp.Navigate(b.URL("/demandes/pour-vous")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=for-you-hit]`)))
	hit := fmt.Sprintf(`//li[@data-testid="for-you-hit"][.//a[@href="/demandes/%d"]]`, id)
	b.Do(chromedp.WaitVisible(hit))
	forYou := readLines(b, `[data-testid=for-you-hit]`)
	if len(forYou) == 0 {
		t.Fatal("the SME's requests for it show no reasons")
	}
	checkLines(t, "requests for you", forYou, true)
	if w := browsertest.Get(b, chromedp.Evaluate[float64](`(() => { const hit = document.querySelector('[data-testid=for-you-hit]');
		return hit.getBoundingClientRect().width / hit.closest('.container').getBoundingClientRect().width; })()`)); w < 0.9 {
		t.Errorf("requests for you without facets take %.0f %% of the width", w*100)
	}
	checkLayout(t, b, "sme-for-you", "/demandes/pour-vous")

	page = fmt.Sprintf("/demandes/%d", id)
	b.Do(chromedp.Navigate(b.URL(page)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=match-reasons]`)))
	mine := readLines(b, `[data-testid=explanation]`)
	advice := 0
	for _, l := range mine {
		if l.Kind == "advice" {
			advice++
		}
	}
	if advice == 0 {
		t.Errorf("the SME reads no advice on raising its rank: %v", mine)
	}
	checkLines(t, "SME's request page", mine, true)
	checkLayout(t, b, "sme-request", page)
}
