package member

import "time"

// WidenLastOwnerRace makes DeleteAccount pause between its last-owner check
// and the deletion, so a test can run two deletions into each other.
func WidenLastOwnerRace(d time.Duration) func() {
	afterLastOwnerCheck = func() { time.Sleep(d) }
	return func() { afterLastOwnerCheck = func() {} }
}
