package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

func linear(fs *flag.FlagSet, args []string) {
	use := fs.String("use", "", "features to fit, comma separated (empty: all)")
	start := fs.String("start", "", "name=w,... start weights")
	train := fs.String("train", "train", "set to fit on")
	names, qs := load(fs, args)
	set := func(s string) []*query {
		var out []*query
		for _, q := range qs {
			if strings.HasPrefix(q.Set, s) {
				out = append(out, q)
			}
		}
		return out
	}
	mrr := func(qs []*query, w []float64) float64 {
		t := 0.0
		for _, q := range qs {
			best, has := -1e18, false
			sc := make([]float64, len(q.X))
			for i, x := range q.X {
				s := 0.0
				for j, v := range x {
					s += v * w[j]
				}
				sc[i] = s
				if q.Y[i] && s > best {
					best, has = s, true
				}
			}
			if !has {
				continue
			}
			gt, eq := 0.0, 0.0
			for i, s := range sc {
				if q.Y[i] {
					continue
				}
				if s > best+1e-12 {
					gt++
				} else if s > best-1e-12 {
					eq++
				}
			}
			t += 1 / (1 + gt + eq/2)
		}
		return t / float64(len(qs))
	}
	w := make([]float64, len(names))
	uses := map[string]bool{}
	for _, u := range strings.Split(*use, ",") {
		if u != "" {
			uses[u] = true
		}
	}
	for _, kv := range strings.Split(*start, ",") {
		p := strings.SplitN(kv, "=", 2)
		if len(p) == 2 {
			for i, n := range names {
				if n == p[0] {
					w[i], _ = strconv.ParseFloat(p[1], 64)
				}
			}
		}
	}
	tr := set(*train)
	best := mrr(tr, w)
	steps := []func(float64) float64{
		func(x float64) float64 { return x * 2 }, func(x float64) float64 { return x / 2 },
		func(x float64) float64 { return x * 1.25 }, func(x float64) float64 { return x * 0.8 },
		func(x float64) float64 { return x + 0.5 }, func(x float64) float64 { return max(0, x-0.5) },
		func(x float64) float64 { return 0 }, func(x float64) float64 { return x + 2 },
		func(x float64) float64 { return x + 0.1 }, func(x float64) float64 { return max(0, x-0.1) },
	}
	for round := 0; round < 15; round++ {
		imp := false
		for i, n := range names {
			if len(uses) > 0 && !uses[n] {
				continue
			}
			for _, st := range steps {
				t := append([]float64(nil), w...)
				t[i] = st(w[i])
				if t[i] == w[i] {
					continue
				}
				if m := mrr(tr, t); m > best+1e-6 {
					w, best, imp = t, m, true
				}
			}
		}
		if !imp {
			break
		}
	}
	fmt.Printf("train %.4f", best)
	for _, s := range []string{"test.warm", "test", "train.warm"} {
		if q := set(s); len(q) > 0 {
			fmt.Printf("  %s %.4f (n=%d)", s, mrr(q, w), len(q))
		}
	}
	fmt.Println()
	for i, n := range names {
		if w[i] != 0 {
			fmt.Printf("%s=%.3g,", n, w[i])
		}
	}
	fmt.Println()
}
