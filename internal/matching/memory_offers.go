package matching

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The listed offers by région and category (offer_categories) held in
// memory: a request coded at a division reads up to 100,000 of them in a
// région, from the index alone but each row sent and decoded, the
// slowest of a ranking's searches (p95 41–64 ms at national scale); here
// a walk over a slice.

// memOffer is one row of offer_categories: a listed offer under one of its
// régions and one of its codes' categories.
type memOffer struct {
	org, id int64
	cat     uint32    // the category's digits, padded with zeros to five
	codes   [2]uint32 // its codes as numbers, the first two (Memory.moreCodes holds all of a longer list)
	ncat    uint8     // the category's digits
	ncodes  uint8
	trl     uint8
}

// offerList names the list of one région key (Memory.names: "reg:11", ""
// when an offer has none) and one CPV division.
type offerList struct {
	region uint16
	div    uint8
}

// padded is a category ("45", "4521", "72212") as a number of five
// digits, and how many it has: categories in a prefix's range are
// consecutive.
func padded(cat string) (uint32, uint8, bool) {
	if len(cat) < 2 || len(cat) > 5 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(cat+"00000"[len(cat):], 10, 32)
	if err != nil {
		return 0, 0, false
	}
	return uint32(n), uint8(len(cat)), true
}

// readOffer files one row of offer_categories into got's offers (and an
// offer's codes beyond two into its moreCodes), noting the list on its
// SME.
func (m *Memory) readOffer(got memRead, region, category string, offerID, org int64, trl int, codes []string) {
	cat, ncat, ok := padded(category)
	if !ok {
		return // cpv_category gives two to five digits
	}
	x := memOffer{org: org, id: offerID, cat: cat, ncat: ncat, trl: uint8(min(max(trl, 0), 255))}
	var all []uint32
	for _, c := range codes {
		n, err := strconv.ParseUint(c, 10, 32)
		if err != nil || len(c) != 8 {
			continue // the offers' CHECK keeps 8 digits
		}
		if int(x.ncodes) < len(x.codes) {
			x.codes[x.ncodes] = uint32(n)
			x.ncodes++
		}
		all = append(all, uint32(n))
	}
	if len(all) > len(x.codes) {
		got.moreCodes[offerID] = all
	}
	l := offerList{region: m.name(region), div: uint8(cat / 1000)}
	got.offers[l] = append(got.offers[l], x)
	if o, ok := got.orgs[org]; ok {
		noteIn(o.lists[:], &o.nlists, got.extraLists, org, l)
		got.orgs[org] = o
	}
}

func byCategory(a, b memOffer) int { return cmp.Or(cmp.Compare(a.cat, b.cat), cmp.Compare(a.id, b.id)) }

// offerRegions are the région keys of offer_categories a request's places
// read: those of its régions, any (and none) without places.
func (s *Service) offerRegions(placeKeys []string) []string {
	var keys []string
	for _, code := range placeRegions(placeKeys) {
		keys = append(keys, "reg:"+code)
	}
	if len(placeKeys) == 0 {
		keys = append(keys, "")
		for _, x := range s.tax.Regions() {
			keys = append(keys, "reg:"+x.Code)
		}
	}
	return keys
}

// offers hands take each SME's best offer among the listed offers of the
// request's categories in the given régions (offersQuery's rows, the best
// as betterOffer chooses it): level, offer, TRL.
func (m *Memory) offers(r Request, regions []string, take func(org, offerID int64, lvl, trl int)) {
	type best struct {
		lvl int
		id  int64
		trl int
	}
	found := map[int64]best{}
	// Each code's level under the request's codes, worked out once.
	known := map[uint32]int{}
	level := func(code uint32) int {
		lvl, ok := known[code]
		if !ok {
			lvl = bestLevel(fmt.Sprintf("%08d", code), r.CPV)
			known[code] = lvl
		}
		return lvl
	}
	m.mu.RLock()
	for _, key := range offerKeys(r.CPV) {
		prefix := strings.TrimPrefix(key, "cpv:")
		lo, n, ok := padded(prefix)
		if !ok {
			continue
		}
		hi := lo + [6]uint32{0, 0, 1000, 100, 10, 1}[n]
		for _, region := range regions {
			id, ok := m.nameIDs[region]
			if !ok {
				continue
			}
			list := m.offerLists[offerList{region: id, div: uint8(lo / 1000)}]
			i, _ := slices.BinarySearchFunc(list, lo, func(x memOffer, lo uint32) int { return cmp.Compare(x.cat, lo) })
			for ; i < len(list) && list[i].cat < hi; i++ {
				x := &list[i]
				if x.ncat < n {
					continue // "45" is in the range of "450" but does not start with it
				}
				lvl := LevelNone
				if codes, ok := m.moreCodes[x.id]; ok {
					for _, c := range codes {
						lvl = max(lvl, level(c))
					}
				} else {
					for _, c := range x.codes[:x.ncodes] {
						lvl = max(lvl, level(c))
					}
				}
				b := found[x.org] // every SME found is a candidate, with an offer or none
				if betterOffer(lvl, x.id, b.lvl, b.id) {
					b = best{lvl, x.id, int(x.trl)}
				}
				found[x.org] = b
			}
		}
	}
	m.mu.RUnlock()
	for org, b := range found {
		take(org, b.id, b.lvl, b.trl)
	}
}
