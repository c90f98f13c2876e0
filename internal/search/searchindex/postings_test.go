package searchindex

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPostingsEncodeAndSeek: ordinals with small and large gaps, in one
// block and in many, decode to what was added, and a cursor's seek finds
// the first ordinal at or after any value, walking forward, as a search
// in the plain list does; the weight read at its position is the one
// added, whether its block's weights are packed in 0 to 4 bits, written
// as they are (more than 16 distinct) or still open, and read through a
// cursor or a decoded list.
func TestPostingsEncodeAndSeek(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := []int{1, 2, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 7, 5000}[trial%7]
		var want []uint32
		var wantW []uint8
		var p postings
		// How many distinct weights a block may hold: one (all equal), a
		// few, up to 16 (packed), more (as they are).
		distinct := []int{1, 2, 3, 4, 5, 16, 17, 256}[rng.IntN(8)]
		palette := make([]uint8, distinct)
		for i := range palette {
			palette[i] = uint8(rng.IntN(256))
		}
		v := uint32(rng.IntN(1000))
		for range n {
			switch rng.IntN(4) {
			case 0:
				v += 1 + uint32(rng.IntN(3))
			case 1:
				v += 1 + uint32(rng.IntN(200))
			default:
				v += 1 + uint32(rng.IntN(100000))
			}
			w := palette[rng.IntN(distinct)]
			want, wantW = append(want, v), append(wantW, w)
			p.add(v, w)
		}
		if got := p.all(nil); !slices.Equal(got, want) {
			t.Fatalf("trial %d: decoded %d ordinals differ from the %d added", trial, len(got), len(want))
		}
		if p.len() != n {
			t.Fatalf("trial %d: len %d, want %d", trial, p.len(), n)
		}
		ords, ats := p.allAt(nil, nil)
		for i := range n {
			w := p.packedAt(int(ats[i/blockSize]))
			if got := w.weight(i % blockSize); got != wantW[i] {
				t.Fatalf("trial %d (%d distinct): weight %d = %d, want %d", trial, distinct, i, got, wantW[i])
			}
		}
		if got := p.allWeights(nil, ats); !slices.Equal(got, wantW) {
			t.Fatalf("trial %d (%d distinct): the %d weights decoded at once differ from those added", trial, distinct, len(got))
		}
		whole := decodedCursor(&p, ords, ats)
		for range 50 {
			i := rng.IntN(n)
			pos, ord, ok := whole.seek(want[i])
			if !ok || pos != i || ord != want[i] || whole.weight(pos) != wantW[i] {
				t.Fatalf("trial %d: decoded list seek(%d) = %d, %d, %v weight %d; want %d weight %d", trial, want[i], pos, ord, ok, whole.weight(pos), i, wantW[i])
			}
			whole = decodedCursor(&p, ords, ats)
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
			if !ok || pos != k || ord != want[k] || c.weight(pos) != wantW[k] {
				t.Fatalf("trial %d: seek(%d) = %d, %d, %v weight %d; want %d, %d weight %d", trial, target, pos, ord, ok, c.weight(pos), k, want[k], wantW[k])
			}
		}
	}
}
