package registry_test

import (
	"slices"
	"testing"

	"passerelle/internal/platform/registry"
)

func TestNames(t *testing.T) {
	n := registry.New[string]("test name")
	n.Declare("offer.approved")
	n.Declare("offer.sent_back")
	if got := n.All(); !slices.Equal(got, []string{"offer.approved", "offer.sent_back"}) || !n.Has("offer.approved") || n.Has("request.approved") {
		t.Errorf("declared %v", got)
	}
	for _, v := range []string{"offer.approved", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("declaring %q did not panic", v)
				}
			}()
			n.Declare(v)
		}()
	}
}
