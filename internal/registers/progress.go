package registers

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar shows an import's progress on a terminal: the share of the file
// read, rows, rows per second and the time left.
func Bar(w io.Writer) Progress { return &bar{w: w} }

type bar struct {
	w     io.Writer
	b     *progressbar.ProgressBar
	name  string
	rows  atomic.Int64
	start time.Time
	last  time.Time
}

func (b *bar) Start(name string, size int64) {
	b.name, b.start = name, time.Now()
	b.rows.Store(0)
	if size <= 0 {
		size = -1
	}
	b.b = progressbar.NewOptions64(size, progressbar.OptionSetWriter(b.w), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(name), progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }))
}

func (b *bar) Add(bytes, rows int64) {
	if b.b == nil {
		return
	}
	n := b.rows.Add(rows)
	if bytes > 0 {
		b.b.Add64(bytes)
	}
	if now := time.Now(); now.Sub(b.last) > 250*time.Millisecond {
		b.last = now
		rate := float64(n) / max(now.Sub(b.start).Seconds(), 0.001)
		b.b.Describe(fmt.Sprintf("%s: %d rows, %.0f rows/s", b.name, n, rate))
	}
}

func (b *bar) Done() {
	if b.b != nil {
		n := b.rows.Load()
		b.b.Describe(fmt.Sprintf("%s: %d rows, %.0f rows/s", b.name, n, float64(n)/max(time.Since(b.start).Seconds(), 0.001)))
		b.b.Finish()
	}
}
