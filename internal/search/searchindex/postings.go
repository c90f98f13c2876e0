package searchindex

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// A term's postings: the ordinals of the documents holding it, ascending,
// and its weight in each. Ordinals are delta-coded in blocks of
// blockSize: each block starts with its first ordinal (a uvarint), then
// the gaps to the next ones (uvarints). A frequent word's gaps take a
// byte, where an ordinal took four; a term of more than one block keeps,
// per block, its first ordinal and where its bytes start, so a search
// reaches any ordinal by decoding one block. A full block's weights follow
// its gaps, packed (packWeights: most blocks hold a few distinct weights,
// a word being in the title or not, so a weight takes one to four bits);
// the weights of the last block, while it is not full, stay one byte each
// in scores.
type postings struct {
	skips  []uint32 // per block: first ordinal, offset in data; nil while there is one block
	data   []byte
	scores []uint8 // the open block's weights (fewer than blockSize)
	last   uint32  // the last ordinal, for appends
}

// blockSize is how many postings a block holds.
const blockSize = 64

// blocks is how many blocks hold postings, the open one included.
func (p *postings) blocks() int {
	switch {
	case len(p.data) == 0:
		return 0
	case p.skips == nil:
		return 1
	}
	return len(p.skips) / 2
}

// full is how many blocks are full (their weights packed in data).
func (p *postings) full() int {
	if len(p.scores) > 0 {
		return p.blocks() - 1
	}
	return p.blocks()
}

func (p *postings) len() int { return p.full()*blockSize + len(p.scores) }

// add appends a document, whose ordinal is above every one held.
func (p *postings) add(ord uint32, score uint8) {
	n := p.len()
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
	if len(p.scores) == blockSize {
		p.data = packWeights(p.data, p.scores)
		p.scores = p.scores[:0]
	}
}

// packWeights appends a full block's weights: the count k of distinct
// weights, the k weights ascending, then each posting's index among them
// in bits.Len(k-1) bits (none when all are equal); more than 16 distinct
// weights are written as they are after a 0.
func packWeights(dst []byte, w []uint8) []byte {
	var seen [256]bool
	k := 0
	for _, v := range w {
		if !seen[v] {
			seen[v] = true
			k++
		}
	}
	if k > 16 {
		dst = append(dst, 0)
		return append(dst, w...)
	}
	dst = append(dst, byte(k))
	var index [256]uint8
	i := uint8(0)
	for v := range 256 {
		if seen[v] {
			index[v] = i
			i++
			dst = append(dst, byte(v))
		}
	}
	width := uint(bits.Len(uint(k - 1)))
	if width == 0 {
		return dst
	}
	var acc uint64
	var have uint
	for _, v := range w {
		acc |= uint64(index[v]) << have
		have += width
		for have >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			have -= 8
		}
	}
	return dst // 64 × width bits: a whole number of bytes
}

// allWeights decodes every weight, in order, appended to dst; ats are
// where the blocks' weights start (allAt).
func (p *postings) allWeights(dst []uint8, ats []int32) []uint8 {
	var buf [blockSize]uint8
	for b := range p.full() {
		unpackWeights(p.data[ats[b]:], &buf)
		dst = append(dst, buf[:]...)
	}
	return append(dst, p.scores...)
}

// unpackWeights writes a full block's weights, as packWeights wrote them
// from src on, into out, all at once (a search's leading list: faster
// than packedBlock.weight one by one).
func unpackWeights(src []byte, out *[blockSize]uint8) {
	k := int(src[0])
	if k == 0 {
		copy(out[:], src[1:1+blockSize])
		return
	}
	pal := src[1 : 1+k]
	width := uint(bits.Len(uint(k - 1)))
	if width == 0 {
		for i := range out {
			out[i] = pal[0]
		}
		return
	}
	codes := src[1+k:]
	mask := uint64(1)<<width - 1
	var acc uint64
	var have uint
	j := 0
	for i := range out {
		for have < width {
			acc |= uint64(codes[j]) << have
			j++
			have += 8
		}
		out[i] = pal[acc&mask]
		acc >>= width
		have -= width
	}
}

// packedBlock is a block's weights as packWeights wrote them, read in
// place: raw (written as they are, or the open block's), or a palette and
// width-bit codes.
type packedBlock struct {
	raw   []uint8
	pal   []uint8
	codes []byte
	width int
}

// packedAt reads the header of the weights starting at at in data (-1:
// the open block's, in scores).
func (p *postings) packedAt(at int) packedBlock {
	if at < 0 {
		return packedBlock{raw: p.scores}
	}
	data := p.data[at:]
	k := int(data[0])
	if k == 0 {
		return packedBlock{raw: data[1 : 1+blockSize]}
	}
	return packedBlock{pal: data[1 : 1+k], codes: data[1+k:], width: bits.Len(uint(k - 1))}
}

// weight is the i-th weight of the block.
func (w *packedBlock) weight(i int) uint8 {
	switch {
	case w.raw != nil:
		return w.raw[i]
	case w.width == 0:
		return w.pal[0]
	}
	bit := i * w.width
	v := uint(w.codes[bit/8])
	if bit%8+w.width > 8 {
		v |= uint(w.codes[bit/8+1]) << 8
	}
	return w.pal[int(v>>(bit%8))&(1<<w.width-1)]
}

// block decodes block b into buf (blockSize long) and returns its length
// and where its packed weights start in data (-1 for the open block).
func (p *postings) block(b int, buf []uint32) (int, int) {
	off, end := 0, len(p.data)
	if p.skips != nil {
		off = int(p.skips[2*b+1])
		if 2*b+3 < len(p.skips) {
			end = int(p.skips[2*b+3])
		}
	}
	n := min(blockSize, p.len()-b*blockSize)
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
	if b < p.full() {
		return n, off + j
	}
	return n, -1
}

// all decodes every ordinal, appended to dst.
func (p *postings) all(dst []uint32) []uint32 {
	dst, _ = p.allAt(dst, nil)
	return dst
}

// allAt decodes every ordinal, appended to dst, and where each block's
// weights start (for packedAt), appended to ats.
func (p *postings) allAt(dst []uint32, ats []int32) ([]uint32, []int32) {
	dst = slices.Grow(dst, p.len())
	var buf [blockSize]uint32
	for b := range p.blocks() {
		n, at := p.block(b, buf[:])
		dst = append(dst, buf[:n]...)
		ats = append(ats, int32(at))
	}
	return dst, ats
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
	at  int // where the decoded block's packed weights start in data (-1: open block)
	// whole, when the search decoded the list already (allAt): seek
	// searches it; ats are where its blocks' weights start.
	whole []uint32
	ats   []int32
	// The weights of block wb, read in place.
	wb int
	w  packedBlock
}

func newCursor(p *postings) *cursor { return &cursor{p: p, blk: -1, wb: -1} }

// decodedCursor walks a list the search has decoded whole.
func decodedCursor(p *postings, whole []uint32, ats []int32) *cursor {
	return &cursor{p: p, blk: -1, whole: whole, ats: ats, wb: -1}
}

// weight is the weight of the posting at pos, the position seek returned
// last.
func (c *cursor) weight(pos int) uint8 {
	if b := pos / blockSize; b != c.wb {
		at := c.at // the block seek decoded
		if c.whole != nil {
			at = int(c.ats[b])
		}
		c.w, c.wb = c.p.packedAt(at), b
	}
	return c.w.weight(pos % blockSize)
}

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
			c.blk, c.i = b, 0
			c.n, c.at = c.p.block(b, c.buf[:])
		}
		if c.buf[c.n-1] < v { // v falls between this block's last and the next one's first
			if b+1 >= nb {
				c.i = c.n
				return 0, 0, false
			}
			c.blk, c.i = b+1, 0
			c.n, c.at = c.p.block(b+1, c.buf[:])
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
