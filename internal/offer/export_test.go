package offer

import "time"

// HoldLocks makes an edit keep its locks a while after taking them, so a
// test can run a background job into it.
func HoldLocks(d time.Duration) func() {
	afterOwnLock = func() { time.Sleep(d) }
	return func() { afterOwnLock = func() {} }
}
