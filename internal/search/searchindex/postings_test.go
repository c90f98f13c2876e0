package searchindex

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPostingsEncodeAndSeek: ordinals with small and large gaps, in one
// block and in many, decode to what was added, and a cursor's seek finds
// the first ordinal at or after any value, walking forward, as a search
// in the plain list does.
func TestPostingsEncodeAndSeek(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := []int{1, 2, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 7, 5000}[trial%7]
		var want []uint32
		var p postings
		v := uint32(rng.IntN(1000))
		for i := range n {
			switch rng.IntN(4) {
			case 0:
				v += 1 + uint32(rng.IntN(3))
			case 1:
				v += 1 + uint32(rng.IntN(200))
			default:
				v += 1 + uint32(rng.IntN(100000))
			}
			want = append(want, v)
			p.add(v, uint8(i))
		}
		if got := p.all(nil); !slices.Equal(got, want) {
			t.Fatalf("trial %d: decoded %d ordinals differ from the %d added", trial, len(got), len(want))
		}
		c := newCursor(&p)
		target := uint32(0)
		for {
			target += uint32(rng.IntN(int(want[len(want)-1]/uint32(max(n/4, 1)) + 2)))
			pos, ord, ok := c.seek(target)
			k, _ := slices.BinarySearch(want, target)
			if k == len(want) {
				if ok {
					t.Fatalf("trial %d: seek(%d) past the end found %d at %d", trial, target, ord, pos)
				}
				break
			}
			if !ok || pos != k || ord != want[k] || p.scores[pos] != uint8(k) {
				t.Fatalf("trial %d: seek(%d) = %d, %d, %v; want %d, %d", trial, target, pos, ord, ok, k, want[k])
			}
		}
	}
}
