package searchindex

// widening is a list of numbers held in the narrow type N while every
// one fits in it, and in the wide type W, all of them, once one does not:
// ids (four bytes, eight past 2³²) and facet ids (two bytes, four past
// 65,535 keys). Hot loops read narrow or wide directly.
type widening[N uint16 | uint32, W uint32 | int64] struct {
	narrow []N
	wide   []W // nil while every number fits in N
}

func (l *widening[N, W]) len() int {
	if l.wide != nil {
		return len(l.wide)
	}
	return len(l.narrow)
}

func (l *widening[N, W]) get(i uint32) W {
	if l.wide != nil {
		return l.wide[i]
	}
	return W(l.narrow[i])
}

func (l *widening[N, W]) append(v W) {
	if l.wide == nil && (v < 0 || v > W(^N(0))) {
		l.wide = make([]W, len(l.narrow), 2*len(l.narrow)+1)
		for i, n := range l.narrow {
			l.wide[i] = W(n)
		}
		l.narrow = nil
	}
	if l.wide != nil {
		l.wide = append(l.wide, v)
	} else {
		l.narrow = append(l.narrow, N(v))
	}
}

// compact copies the list into an allocation of its exact length.
func (l *widening[N, W]) compact() {
	if l.wide != nil {
		l.wide = append(make([]W, 0, len(l.wide)), l.wide...)
	} else {
		l.narrow = append(make([]N, 0, len(l.narrow)), l.narrow...)
	}
}

// bytes is what the list holds in memory.
func (l *widening[N, W]) bytes() int64 {
	var n N
	var w W
	return int64(len(l.narrow))*int64(sizeOf(n)) + int64(len(l.wide))*int64(sizeOf(w))
}

func sizeOf[T uint16 | uint32 | int64](T) int {
	switch any(T(0)).(type) {
	case uint16:
		return 2
	case uint32:
		return 4
	}
	return 8
}
