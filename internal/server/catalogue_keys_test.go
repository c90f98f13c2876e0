package server

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"passerelle/internal/coach"
	"passerelle/internal/indicator"
	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/plan"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/present"
	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
)

// enumKeys are the catalogue ids the code builds from values ("kind." +
// the organisation's kind…), each family from the list of its values.
func enumKeys() map[string]string {
	keys := map[string]string{} // id → family, for messages
	add := func(family string, ids ...string) {
		for _, id := range ids {
			keys[id] = family
		}
	}
	for _, k := range member.Kinds {
		add("organisation kinds", "kind."+string(k))
	}
	for _, r := range member.Roles {
		add("roles", "role."+string(r))
	}
	for _, st := range member.Statuses {
		add("membership statuses", "status."+string(st))
	}
	for path := range decisionPaths {
		add("staff decisions", "staff.decision."+path, "staff.done."+path)
		if path != "approuver" {
			add("staff decisions", "staff.reason_label."+path)
		}
	}
	for _, k := range offer.Kinds {
		add("offer kinds", "offer.kind."+k)
	}
	for _, st := range offer.Statuses {
		add("offer statuses", "offer.status."+string(st))
	}
	for n := 1; n <= 9; n++ {
		add("TRL", "offer.trl."+strconv.Itoa(n))
	}
	for _, a := range audit.Actions() {
		add("audit actions", a.MessageID())
	}
	for _, c := range notify.Optional() {
		add("mail categories", "notify.category."+c.Name)
	}
	mails := member.MailKinds()
	for _, st := range purchase.Statuses {
		add("request statuses", "request.status."+string(st))
	}
	for family, list := range map[string][]string{"budget bands": purchase.BudgetBands, "visibilities": purchase.Visibilities,
		"outcomes": purchase.Outcomes, "follow-up answers": purchase.FollowUps, "not interested reasons": purchase.NotInterestedReasons} {
		prefix := map[string]string{"budget bands": "request.budget.", "visibilities": "request.visibility.", "outcomes": "request.outcome.",
			"follow-up answers": "request.follow_up.", "not interested reasons": "request.reason."}[family]
		for _, v := range list {
			add(family, prefix+v)
		}
	}
	add("indicator errors", indicator.Messages...)
	add("flash messages", "declarations.flash_saved", "barometer.flash_saved", "barometer.flash_opened", "barometer.flash_closed", "barometer.flash_closed_meanwhile",
		"request.counterfactual_required")
	for _, c := range indicator.Criteria {
		add("barometer criteria", "indicator.criterion."+c, "barometer.score_hint."+c)
	}
	for _, st := range []string{indicator.ImportChecking, indicator.ImportChecked, indicator.ImportImporting, indicator.ImportImported, indicator.ImportFailed} {
		add("import statuses", "indicator.import.status."+st, "import.progress_"+st)
	}
	for _, k := range []string{"new", "correction", "unchanged"} {
		add("import effects", "indicator.preview.kind."+k)
	}
	for _, src := range []string{"form", "import", "demo"} {
		add("declaration sources", "declarations.source."+src)
	}
	for _, c := range purchase.Counterfactuals {
		add("counterfactual answers", "request.counterfactual."+c)
	}
	for _, st := range purchase.States {
		add("match states", "match.state."+string(st))
	}
	for _, a := range purchase.ReplyActions {
		add("buyer replies", "match.reply."+string(a), "requests.flash_reply."+string(a))
	}
	for _, p := range []string{purchase.LinkInterest, purchase.LinkNotInterested, purchase.LinkFollowUp} {
		add("link purposes", "link.done."+p)
	}
	for _, dim := range requestFacetOrder {
		add("request facets", "browse.dim."+dim)
	}
	mails = append(mails, purchase.MailKinds...)
	mails = append(mails, indicator.MailKinds...)
	mails = append(mails, plan.MailKinds...)
	for _, who := range present.Readers {
		add("match reasons", "match.reasons_title."+string(who))
		for _, c := range matching.ReasonCodes {
			add("match reasons", "match.reason."+c+"."+string(who))
		}
		if who != present.SME {
			for _, c := range matching.CaveatCodes {
				add("match caveats", "match.caveat."+c+"."+string(who))
			}
		}
	}
	for _, c := range append(append([]string{}, coach.Codes...), coach.NextCodes...) {
		add("coach findings", "coach."+c)
	}
	for _, st := range plan.Statuses {
		add("plan statuses", "plan.status."+string(st))
	}
	for _, o := range plan.Outcomes {
		add("plan outcomes", "plan.outcome."+string(o))
	}
	for _, ind := range plan.Indicators {
		add("plan indicators", "plan.target."+string(ind))
		if ind != plan.Referent {
			add("plan indicators", "plan.hint."+string(ind))
		}
	}
	for _, src := range []string{"declaration", "decp", "platform", "barometer", "plan"} {
		add("plan sources", "plan.source."+src)
	}
	add("plan comment hints", "plan.comment_hint.staff", "plan.comment_hint.sme", "plan.is_public", "plan.is_private", "plan.named", "plan.not_named")
	for _, c := range matching.AdviceCodes {
		add("match advice", "match.advice."+c, "match.advice_link."+c)
	}
	for _, n := range matching.LevelNames {
		add("CPV levels", "match.level."+n)
	}
	for _, k := range []moderation.Kind{offer.Moderated, purchase.Moderated} {
		add("moderated kinds", "moderation.kind."+k.Name)
		mails = append(mails, k.Name+"_published", k.Name+"_sent_back")
	}
	for path := range moderationDecisions {
		add("moderation decisions", "moderation.decision."+path, "moderation.done."+path)
	}
	for _, k := range mails {
		add("mail kinds", "mail."+k+".subject", "mail."+k+".body")
	}
	for _, dim := range facetOrder {
		add("search facets", "search.dim."+dim)
	}
	for _, b := range taxonomy.MustLoad().HeadcountBands() {
		add("size classes", "search.size."+strings.ToLower(b.Size))
	}
	for _, code := range []string{"400", "403", "404", "405", "413", "429", "500", "503", "session"} {
		add("error pages", "error."+code+".title", "error."+code+".text")
	}
	return keys
}

// Every id the code and views use literally (T("…")) and every id built
// from an enum exists in both languages, and every id of the catalogues is
// used: literally in the code or views, or as one of those enums' ids.
func TestCatalogueKeysAreUsedAndExist(t *testing.T) {
	enums := enumKeys()
	for _, lang := range i18n.Languages {
		ids, err := i18n.MessageIDs(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range slices.Sorted(maps.Keys(enums)) {
			if !slices.Contains(ids, id) {
				t.Errorf("%s: %q (%s) is missing", lang, id, enums[id])
			}
		}
	}

	literals := map[string]bool{}     // any dotted string literal
	translated := map[string]string{} // ids in T("…") calls → where
	quoted := regexp.MustCompile(`"([a-z0-9_]+(?:\.[a-z0-9_]+)+)"`)
	call := regexp.MustCompile(`\bT\((?:ctx, )?"([a-z0-9_.]+)"[,)]`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".templ") && !(strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_templ.go") && !strings.HasSuffix(path, "_test.go")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			literals[m[1]] = true
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			translated[m[1]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range i18n.Languages {
		ids, _ := i18n.MessageIDs(lang)
		for id, path := range translated {
			if !slices.Contains(ids, id) {
				t.Errorf("%s uses message %q, missing from the %s catalogues", path, id, lang)
			}
		}
	}
	if len(translated) < 100 {
		t.Fatalf("found only %d translated literals: the scan is broken", len(translated))
	}
	ids, _ := i18n.MessageIDs(i18n.Default)
	var unused []string
	for _, id := range ids {
		base, capped := strings.CutSuffix(id, "_capped") // the same count, past the counting cap
		if !literals[id] && enums[id] == "" && !(capped && literals[base]) {
			unused = append(unused, id)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("%d catalogue ids are used nowhere: %s", len(unused), strings.Join(unused, ", "))
	}
	if len(literals) < 100 {
		t.Fatal(fmt.Sprintf("found only %d literal ids: the scan is broken", len(literals)))
	}
}
