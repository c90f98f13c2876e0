package main

import (
	"flag"
	"fmt"
	"math"
	"sort"
	"strings"
)

type node struct {
	feat        int
	thr         float64
	left, right *node
	val         float64
	leaf        bool
}

func (n *node) eval(x []float64) float64 {
	for !n.leaf {
		if x[n.feat] <= n.thr {
			n = n.left
		} else {
			n = n.right
		}
	}
	return n.val
}

func trees(fs *flag.FlagSet, args []string) {
	ntrees := fs.Int("trees", 200, "")
	depth := fs.Int("depth", 3, "")
	lr := fs.Float64("lr", 0.1, "")
	minH := fs.Float64("minh", 1, "")
	keep := fs.Int("keep", 300, "train candidates kept per query (top by hierarchy)")
	train := fs.String("train", "train", "")
	names, qs := load(fs, args)
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	hier := func(x []float64) float64 {
		s := 0.0
		for _, n := range []string{"l2", "l3", "l4", "l5", "l8", "d2", "d3", "d4", "d5", "d8", "buyer"} {
			s += x[idx[n]]
		}
		return s
	}
	// training rows: queries of the train set with a winner; keep the top by hierarchy + winners
	var tr []*query
	for _, q := range qs {
		if !strings.HasPrefix(q.Set, *train) {
			continue
		}
		has := false
		for _, y := range q.Y {
			has = has || y
		}
		if !has {
			continue
		}
		ord := make([]int, len(q.X))
		for i := range ord {
			ord[i] = i
		}
		sort.Slice(ord, func(a, b int) bool { return hier(q.X[ord[a]]) > hier(q.X[ord[b]]) })
		t := &query{Set: q.Set}
		for k, i := range ord {
			if k < *keep || q.Y[i] {
				t.X = append(t.X, q.X[i])
				t.Y = append(t.Y, q.Y[i])
			}
		}
		t.F = make([]float64, len(t.X))
		tr = append(tr, t)
	}
	// bins per feature: quantiles over training rows
	nf := len(names)
	var bins [][]float64
	for j := 0; j < nf; j++ {
		var vals []float64
		for _, q := range tr {
			for _, x := range q.X {
				vals = append(vals, x[j])
			}
		}
		sort.Float64s(vals)
		var b []float64
		for k := 1; k < 32; k++ {
			v := vals[len(vals)*k/32]
			if len(b) == 0 || v > b[len(b)-1] {
				b = append(b, v)
			}
		}
		bins = append(bins, b)
	}
	type row struct {
		x    []float64
		g, h float64
	}
	var model []*node
	for t := 0; t < *ntrees; t++ {
		var rows []row
		for _, q := range tr {
			mx := math.Inf(-1)
			for _, v := range q.F {
				mx = max(mx, v)
			}
			z := 0.0
			p := make([]float64, len(q.F))
			for i, v := range q.F {
				p[i] = math.Exp(v - mx)
				z += p[i]
			}
			nw := 0.0
			for _, y := range q.Y {
				if y {
					nw++
				}
			}
			for i := range p {
				p[i] /= z
				y := 0.0
				if q.Y[i] {
					y = 1 / nw
				}
				rows = append(rows, row{q.X[i], p[i] - y, math.Max(p[i]*(1-p[i]), 1e-6)})
			}
		}
		var build func(rs []row, d int) *node
		build = func(rs []row, d int) *node {
			G, Hs := 0.0, 0.0
			for _, r := range rs {
				G += r.g
				Hs += r.h
			}
			leaf := &node{leaf: true, val: -G / (Hs + 1) * *lr}
			if d == 0 || Hs < 2**minH {
				return leaf
			}
			bestGain, bf, bt := 0.0, -1, 0.0
			for j := 0; j < nf; j++ {
				b := bins[j]
				gs := make([]float64, len(b)+1)
				hs := make([]float64, len(b)+1)
				for _, r := range rs {
					k := sort.SearchFloat64s(b, r.x[j])
					gs[k] += r.g
					hs[k] += r.h
				}
				gl, hl := 0.0, 0.0
				for k := 0; k < len(b); k++ {
					gl += gs[k]
					hl += hs[k]
					gr, hr := G-gl, Hs-hl
					if hl < *minH || hr < *minH {
						continue
					}
					gain := gl*gl/(hl+1) + gr*gr/(hr+1) - G*G/(Hs+1)
					if gain > bestGain {
						bestGain, bf, bt = gain, j, b[k]
					}
				}
			}
			if bf < 0 {
				return leaf
			}
			var l, rr []row
			for _, r := range rs {
				if r.x[bf] <= bt {
					l = append(l, r)
				} else {
					rr = append(rr, r)
				}
			}
			return &node{feat: bf, thr: bt, left: build(l, d-1), right: build(rr, d-1)}
		}
		tree := build(rows, *depth)
		model = append(model, tree)
		for _, q := range tr {
			for i, x := range q.X {
				q.F[i] += tree.eval(x)
			}
		}
	}
	score := func(x []float64) float64 {
		s := 0.0
		for _, t := range model {
			s += t.eval(x)
		}
		return s
	}
	mrr := func(prefix string, sc func([]float64) float64) (float64, int) {
		t, n := 0.0, 0
		for _, q := range qs {
			if !strings.HasPrefix(q.Set, prefix) {
				continue
			}
			n++
			best, has := -1e18, false
			s := make([]float64, len(q.X))
			for i, x := range q.X {
				s[i] = sc(x)
				if q.Y[i] && s[i] > best {
					best, has = s[i], true
				}
			}
			if !has {
				continue
			}
			gt, eq := 0.0, 0.0
			for i, v := range s {
				if !q.Y[i] {
					if v > best+1e-12 {
						gt++
					} else if v > best-1e-12 {
						eq++
					}
				}
			}
			t += 1 / (1 + gt + eq/2)
		}
		return t / float64(n), n
	}
	for _, p := range []string{"train.warm", "train", "test.warm", "test"} {
		a, n := mrr(p, score)
		h, _ := mrr(p, hier)
		fmt.Printf("%-10s n=%4d gbm %.4f hier %.4f  %+.1f%%\n", p, n, a, h, 100*(a/h-1))
	}
	imp := make([]int, nf)
	var walk func(n *node)
	walk = func(n *node) {
		if n.leaf {
			return
		}
		imp[n.feat]++
		walk(n.left)
		walk(n.right)
	}
	for _, t := range model {
		walk(t)
	}
	for j, n := range names {
		if imp[j] > 0 {
			fmt.Printf("%s:%d ", n, imp[j])
		}
	}
	fmt.Println()
}
