package searchindex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/RoaringBitmap/roaring/v2"
)

// A snapshot is the indexes written as bytes, so a starting server loads
// them in seconds instead of reading and parsing every document again.
// The format is versioned; lengths are checked against what is left, and
// a CRC-32C of the whole is checked before anything is served.
const (
	snapshotMagic   = "PSIX"
	snapshotVersion = 6 // 6: full blocks' weights packed after their gaps, ids in four bytes, facet sets shared
)

// ErrBadSnapshot is a snapshot that cannot be served: truncated, damaged,
// or written by another version of the format.
var ErrBadSnapshot = errors.New("searchindex: bad snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type encoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	err error
}

func (e *encoder) uvarint(v uint64) {
	if e.err == nil {
		_, e.err = e.w.Write(e.buf[:binary.PutUvarint(e.buf[:], v)])
	}
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) uint32s(s []uint32) {
	e.uvarint(uint64(len(s)))
	var b [4]byte
	for _, v := range s {
		if e.err != nil {
			return
		}
		binary.LittleEndian.PutUint32(b[:], v)
		_, e.err = e.w.Write(b[:])
	}
}

func (e *encoder) uint16s(s []uint16) {
	e.uvarint(uint64(len(s)))
	var b [2]byte
	for _, v := range s {
		if e.err != nil {
			return
		}
		binary.LittleEndian.PutUint16(b[:], v)
		_, e.err = e.w.Write(b[:])
	}
}

func (e *encoder) int64s(s []int64) {
	e.uvarint(uint64(len(s)))
	var b [8]byte
	for _, v := range s {
		if e.err != nil {
			return
		}
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		_, e.err = e.w.Write(b[:])
	}
}

// writeTo writes the index; the caller holds no lock.
func (x *Index) writeTo(e *encoder) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.ids.wide != nil {
		e.uvarint(1)
		e.int64s(x.ids.wide)
	} else {
		e.uvarint(0)
		e.uint32s(x.ids.narrow)
	}
	e.int64s(x.sorts)
	dead := make([]byte, len(x.dead))
	for i, d := range x.dead {
		if d {
			dead[i] = 1
		}
	}
	e.bytes(dead)
	if x.facets.ids.wide != nil {
		e.uvarint(1)
		e.uint32s(x.facets.ids.wide)
	} else {
		e.uvarint(0)
		e.uint16s(x.facets.ids.narrow)
	}
	e.uint32s(x.facets.off)
	e.uint32s(x.facets.doc)
	e.uint32s(x.cost)
	e.uvarint(uint64(x.live))
	e.uvarint(uint64(x.bytes))
	e.uvarint(uint64(x.deadBytes))
	e.uvarint(uint64(len(x.keys)))
	for i, k := range x.keys {
		e.string(k)
		b, err := x.facetDoc[i].ToBytes()
		if err != nil && e.err == nil {
			e.err = err
		}
		e.bytes(b)
	}
	var nskips, ndata, nscores int
	for _, p := range x.terms {
		nskips, ndata, nscores = nskips+len(p.skips), ndata+len(p.data), nscores+len(p.scores)
	}
	e.uvarint(uint64(len(x.terms)))
	e.uvarint(uint64(nskips))
	e.uvarint(uint64(ndata))
	e.uvarint(uint64(nscores))
	for t, p := range x.terms {
		e.string(t)
		e.uint32s(p.skips)
		e.bytes(p.data)
		e.bytes(p.scores)
		e.uvarint(uint64(p.last))
	}
}

// WriteSnapshot writes the indexes of lists, in that order, to w.
func writeSnapshot(w io.Writer, lists []string, indexes map[string]*Index) (size int64, sum uint32, err error) {
	h := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(w, h)}
	e := &encoder{w: bufio.NewWriterSize(cw, 1<<20)}
	_, e.err = e.w.WriteString(snapshotMagic)
	e.uvarint(snapshotVersion)
	e.uvarint(uint64(len(lists)))
	for _, l := range lists {
		e.string(l)
		indexes[l].writeTo(e)
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return cw.n, h.Sum32(), e.err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type decoder struct {
	r    *bufio.Reader
	left int64 // bytes not read yet: no length may claim more
	err  error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadSnapshot, what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.fail("truncated")
		return 0
	}
	return v
}

// n reads a count of items of size each and checks it against what is left.
func (d *decoder) n(size int64) int {
	v := d.uvarint()
	if d.err == nil && (v > uint64(d.left) || int64(v)*size > d.left) {
		d.fail("a length past the end")
		return 0
	}
	return int(v)
}

func (d *decoder) full(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail("truncated")
	}
	d.left -= int64(len(b))
}

func (d *decoder) bytes() []byte {
	b := make([]byte, d.n(1))
	d.full(b)
	return b
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) uint32sInto(dst []uint32) {
	var b [4 << 10]byte
	for i := 0; i < len(dst) && d.err == nil; {
		k := min(len(dst)-i, len(b)/4)
		d.full(b[:4*k])
		for j := range k {
			dst[i+j] = binary.LittleEndian.Uint32(b[4*j:])
		}
		i += k
	}
}

func (d *decoder) uint32s() []uint32 {
	s := make([]uint32, d.n(4))
	d.uint32sInto(s)
	return s
}

func (d *decoder) uint16s() []uint16 {
	s := make([]uint16, d.n(2))
	var b [4 << 10]byte
	for i := 0; i < len(s) && d.err == nil; {
		k := min(len(s)-i, len(b)/2)
		d.full(b[:2*k])
		for j := range k {
			s[i+j] = binary.LittleEndian.Uint16(b[2*j:])
		}
		i += k
	}
	return s
}

func (d *decoder) int64s() []int64 {
	s := make([]int64, d.n(8))
	var b [8 << 10]byte
	for i := 0; i < len(s) && d.err == nil; {
		k := min(len(s)-i, len(b)/8)
		d.full(b[:8*k])
		for j := range k {
			s[i+j] = int64(binary.LittleEndian.Uint64(b[8*j:]))
		}
		i += k
	}
	return s
}

// bitmap reads a roaring bitmap from its portable bytes; bytes that do
// not make one (a damaged snapshot) fail the snapshot, even where the
// library would panic.
func (d *decoder) bitmap() (b *roaring.Bitmap) {
	data := d.bytes()
	b = roaring.New()
	if d.err != nil {
		return b
	}
	defer func() {
		if recover() != nil {
			d.fail("a damaged bitmap")
		}
	}()
	if _, err := b.FromBuffer(data); err != nil {
		d.fail("a damaged bitmap")
		return b
	}
	// FromBuffer shares data: a copy of its own, so the bytes read go.
	return b.Clone()
}

func (d *decoder) index() *Index {
	x := New()
	if d.uvarint() == 1 {
		x.ids.wide = d.int64s()
	} else {
		x.ids.narrow = d.uint32s()
	}
	x.sorts = d.int64s()
	dead := d.bytes()
	if d.uvarint() == 1 {
		x.facets.ids.wide = d.uint32s()
	} else {
		x.facets.ids.narrow = d.uint16s()
	}
	x.facets.off = d.uint32s()
	x.facets.doc = d.uint32s()
	x.facets.known = nil // sets are shared again at the next build
	x.cost = d.uint32s()
	x.live = int(d.uvarint())
	x.bytes = int64(d.uvarint())
	x.deadBytes = int64(d.uvarint())
	if d.err == nil && (len(dead) != x.ids.len() || len(x.sorts) != x.ids.len() || len(x.cost) != x.ids.len() || len(x.facets.doc) != 2*x.ids.len() || !x.facets.valid()) {
		d.fail("lists of different lengths")
	}
	if d.err != nil {
		return nil
	}
	x.dead = make([]bool, len(dead))
	for ord, b := range dead {
		if x.dead[ord] = b != 0; !x.dead[ord] {
			x.byID.set(x.ids.get(uint32(ord)), uint32(ord), x.ids.len())
		}
	}
	nkeys := d.n(1)
	x.keys, x.facetDoc = make([]string, 0, nkeys), make([]*roaring.Bitmap, 0, nkeys)
	for i := 0; i < nkeys && d.err == nil; i++ {
		k := d.string()
		x.facetIDs[k] = uint32(len(x.keys))
		x.keys = append(x.keys, k)
		x.facetDoc = append(x.facetDoc, d.bitmap())
	}
	nterms, nskips, ndata, nscores := d.n(4), d.n(4), d.n(1), d.n(1)
	skips, data, scores := make([]uint32, nskips), make([]byte, ndata), make([]uint8, nscores)
	var os, od, oc int
	for i := 0; i < nterms && d.err == nil; i++ {
		t := d.string()
		p := &postings{}
		if n := d.n(4); n > 0 {
			if os+n > nskips || n%2 != 0 {
				d.fail("more skips than announced")
				break
			}
			d.uint32sInto(skips[os : os+n])
			p.skips, os = skips[os:os+n:os+n], os+n
		}
		n := d.n(1)
		if od+n > ndata {
			d.fail("more postings than announced")
			break
		}
		d.full(data[od : od+n])
		p.data, od = data[od:od+n:od+n], od+n
		n = d.n(1)
		if oc+n > nscores || n >= blockSize {
			d.fail("scores and postings differ")
			break
		}
		d.full(scores[oc : oc+n])
		p.scores, oc = scores[oc:oc+n:oc+n], oc+n
		p.last = uint32(d.uvarint())
		x.terms[t] = p
	}
	if d.err != nil {
		return nil
	}
	x.buildVocabulary()
	return x
}

// readSnapshot reads what writeSnapshot wrote, size bytes with checksum
// sum; any difference is ErrBadSnapshot and nothing is returned.
func readSnapshot(r io.Reader, size int64, sum uint32) (map[string]*Index, error) {
	h := crc32.New(castagnoli)
	d := &decoder{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(r, size), h), 1<<20), left: size}
	magic := make([]byte, len(snapshotMagic))
	d.full(magic)
	if d.err == nil && string(magic) != snapshotMagic {
		d.fail("not a snapshot")
	}
	if v := d.uvarint(); d.err == nil && v != snapshotVersion {
		d.fail(fmt.Sprintf("format %d, this server reads %d", v, snapshotVersion))
	}
	n := d.n(1)
	out := map[string]*Index{}
	for i := 0; i < n && d.err == nil; i++ {
		list := d.string()
		if x := d.index(); x != nil {
			out[list] = x
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	// Whatever is left must be nothing, and the whole must match its sum.
	if _, err := d.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: bytes after the end", ErrBadSnapshot)
	}
	if h.Sum32() != sum {
		return nil, fmt.Errorf("%w: checksum", ErrBadSnapshot)
	}
	return out, nil
}
