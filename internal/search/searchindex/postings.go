package searchindex

import (
	"encoding/binary"
	"slices"
)

// A term's postings: the ordinals of the documents holding it, ascending,
// and its weight in each. Ordinals are delta-coded in blocks of
// blockSize: each block starts with its first ordinal (a uvarint), then
// the gaps to the next ones (uvarints). A frequent word's gaps take a
// byte, where an ordinal took four; a term of more than one block keeps,
// per block, its first ordinal and where its bytes start, so a search
// reaches any ordinal by decoding one block. Weights stay one byte each,
// by position: the n-th posting's weight is scores[n].
type postings struct {
	skips  []uint32 // per block: first ordinal, offset in data; nil while there is one block
	data   []byte
	scores []uint8
	last   uint32 // the last ordinal, for appends
}

// blockSize is how many postings a block holds.
const blockSize = 64

func (p *postings) len() int { return len(p.scores) }

func (p *postings) blocks() int { return (len(p.scores) + blockSize - 1) / blockSize }

// add appends a document, whose ordinal is above every one held.
func (p *postings) add(ord uint32, score uint8) {
	n := len(p.scores)
	switch {
	case n == 0:
		p.data = binary.AppendUvarint(p.data, uint64(ord))
	case n%blockSize == 0:
		if p.skips == nil {
			first, _ := binary.Uvarint(p.data)
			p.skips = []uint32{uint32(first), 0}
		}
		p.skips = append(p.skips, ord, uint32(len(p.data)))
		p.data = binary.AppendUvarint(p.data, uint64(ord))
	default:
		p.data = binary.AppendUvarint(p.data, uint64(ord-p.last))
	}
	p.scores = append(p.scores, score)
	p.last = ord
}

// block decodes block b into buf (blockSize long) and returns its length.
func (p *postings) block(b int, buf []uint32) int {
	off, end := 0, len(p.data)
	if p.skips != nil {
		off = int(p.skips[2*b+1])
		if 2*b+3 < len(p.skips) {
			end = int(p.skips[2*b+3])
		}
	}
	n := min(blockSize, len(p.scores)-b*blockSize)
	data := p.data[off:end]
	v, j := binary.Uvarint(data)
	buf[0] = uint32(v)
	for i := 1; i < n; i++ {
		if c := data[j]; c < 0x80 { // a gap under 128: one byte, most of them
			v += uint64(c)
			j++
		} else {
			g, k := binary.Uvarint(data[j:])
			v += g
			j += k
		}
		buf[i] = uint32(v)
	}
	return n
}

// all decodes every ordinal, appended to dst.
func (p *postings) all(dst []uint32) []uint32 {
	dst = slices.Grow(dst, len(p.scores))
	var buf [blockSize]uint32
	for b := range p.blocks() {
		n := p.block(b, buf[:])
		dst = append(dst, buf[:n]...)
	}
	return dst
}

// first is block b's first ordinal.
func (p *postings) first(b int) uint32 {
	if p.skips == nil {
		v, _ := binary.Uvarint(p.data)
		return uint32(v)
	}
	return p.skips[2*b]
}

// cursor walks a term's postings forward: seek finds the first ordinal at
// or after a given one, decoding only the block that holds it.
type cursor struct {
	p   *postings
	blk int // the decoded block; -1 before any
	n   int // its length
	i   int // the position in it
	buf [blockSize]uint32
	// whole, when the search decoded the list already: seek searches it.
	whole []uint32
}

func newCursor(p *postings) *cursor { return &cursor{p: p, blk: -1} }

// decodedCursor walks a list the search has decoded whole.
func decodedCursor(p *postings, whole []uint32) *cursor { return &cursor{p: p, blk: -1, whole: whole} }

// seek moves to the first ordinal ≥ v (never back) and returns its
// position among the postings and the ordinal; ok is false past the end.
func (c *cursor) seek(v uint32) (pos int, ord uint32, ok bool) {
	if c.whole != nil {
		k := c.i + gallop(c.whole[c.i:], v)
		c.i = k
		if k == len(c.whole) {
			return 0, 0, false
		}
		return k, c.whole[k], true
	}
	// Searches walk forward in small steps: the current ordinal, or one a
	// few places on, is most often the one.
	if c.blk >= 0 {
		for k := c.i; k < min(c.i+8, c.n); k++ {
			if c.buf[k] >= v {
				c.i = k
				return c.blk*blockSize + k, c.buf[k], true
			}
		}
	}
	nb := c.p.blocks()
	if c.blk < 0 || (c.i >= c.n || c.buf[c.n-1] < v) {
		// The block holding v: the last whose first ordinal is ≤ v, from
		// the current one on (galloping, as the lists are walked forward).
		b := max(c.blk, 0)
		if c.blk >= 0 && c.buf[c.n-1] < v {
			b = c.blk + 1
		}
		if b >= nb {
			c.i = c.n
			return 0, 0, false
		}
		step := 1
		for b+step < nb && c.p.first(b+step) <= v {
			b += step
			step *= 2
		}
		for step > 1 {
			step /= 2
			if b+step < nb && c.p.first(b+step) <= v {
				b += step
			}
		}
		if b != c.blk {
			c.blk, c.n, c.i = b, c.p.block(b, c.buf[:]), 0
		}
		if c.buf[c.n-1] < v { // v falls between this block's last and the next one's first
			if b+1 >= nb {
				c.i = c.n
				return 0, 0, false
			}
			c.blk, c.n, c.i = b+1, c.p.block(b+1, c.buf[:]), 0
		}
	}
	k, _ := slices.BinarySearch(c.buf[c.i:c.n], v)
	c.i += k
	return c.blk*blockSize + c.i, c.buf[c.i], true
}

// gallop is the first index of s holding a value ≥ v.
func gallop(s []uint32, v uint32) int {
	hi := 1
	for hi < len(s) && s[hi-1] < v {
		hi *= 2
	}
	lo := hi / 2
	hi = min(hi, len(s))
	n, _ := slices.BinarySearch(s[lo:hi], v)
	return lo + n
}
