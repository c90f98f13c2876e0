// Package browsertest drives Debian's headless Chromium (through chromedp)
// against the real application on a random port and a fresh database: the
// harness every browser journey uses. A missing Chromium fails the test
// with what to install; it never skips.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/server/servertest"
)

// InstallHint says what to install when no Chromium is found.
const InstallHint = "Chromium not found: install it with `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH"

// StepTimeout bounds one Do or Get: a step that waits for something that
// never comes fails with the page it was on, instead of hanging.
const StepTimeout = 20 * time.Second

// Browser is one headless Chromium tab on a running application.
type Browser struct {
	App *servertest.App
	Ctx context.Context
	t   testing.TB
}

// Start runs the application and opens a browser tab on it; both stop when t ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	exe := findChromium()
	if exe == "" {
		t.Fatal(InstallHint)
	}
	app := servertest.Start(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// The machine has no internet: without these Chromium keeps
		// trying to reach Google's services.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	return &Browser{App: app, Ctx: ctx, t: t}
}

// Do performs steps in the tab, failing the test on the first error.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v\n%s", err, b.debugState())
	}
}

// debugState describes the page a failed step left, for the test log.
func (b *Browser) debugState() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
	return "page: " + loc + "\n" + text
}

// Get runs one action that reads something from the tab and returns it.
func Get[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v\n%s", err, b.debugState())
	}
	return v
}

// Text returns the visible text of the first element matching a CSS selector.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	return Get(b, chromedp.Text(chromedp.CSS(css)))
}

// Attr returns an attribute of the first element matching a CSS selector.
func (b *Browser) Attr(css, name string) string {
	b.t.Helper()
	return Get(b, chromedp.AttributeValue(chromedp.CSS(css), name)).Value
}

// URL is an absolute URL of the application.
func (b *Browser) URL(path string) string { return b.App.URL + path }

// Screenshot saves a full-page PNG under .artifacts/screenshots (git-ignored)
// and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png := Get(b, chromedp.FullScreenshot(100))
	dir := filepath.Join(repoRoot(b.t), ".artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, unsafeChars.ReplaceAllString(b.t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func findChromium() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func repoRoot(t testing.TB) string {
	dir, err := pgtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// AxeHint says how to install axe-core when it is missing.
const AxeHint = "axe-core not installed: run `npm ci --prefix internal/tools/browsertest/axe` (make test does), with Node.js and npm from Debian (`apt-get install -y nodejs npm`)"

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
		Why    string `json:"failureSummary"`
	} `json:"nodes"`
}

// Axe runs axe-core's WCAG 2.0/2.1 A and AA rules on the page the tab is
// on and fails the test on any serious or critical violation. axe-core
// comes from npm (internal/tools/browsertest/axe, with its lock file) and is
// injected through the DevTools protocol, so the page's CSP, which allows
// no inline script, is kept as users get it.
func (b *Browser) Axe(page string) []Violation {
	b.t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(b.t), "internal", "tools", "browsertest", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		b.t.Fatalf("%s (%v)", AxeHint, err)
	}
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(src)+";0")); err != nil {
		b.t.Fatalf("inject axe-core on %s: %v", page, err)
	}
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
		resultTypes: ["violations"]
	}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core on %s: %v", page, err)
	}
	for _, v := range list {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		b.t.Errorf("%s: axe %s (%s): %s", page, v.ID, v.Impact, v.Help)
		for i, n := range v.Nodes {
			if i == 5 {
				b.t.Errorf("  … and %d more", len(v.Nodes)-5)
				break
			}
			b.t.Errorf("  %v %s\n    %s", n.Target, clip(n.HTML, 200), n.Why)
		}
	}
	return list
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
