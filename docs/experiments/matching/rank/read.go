package main

import (
	"bufio"
	"encoding/csv"
	"os"
	"strconv"
)

// query is one query's candidates: features, whether each won, the
// model's running scores (trees) and its set (train.warm, test.cold…).
type query struct {
	X   [][]float64
	Y   []bool
	F   []float64
	Set string
}

// read reads the rows features.py writes: qid, set, won, features…
func read(path string) (names []string, qs []*query, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	head, err := r.Read()
	if err != nil {
		return nil, nil, err
	}
	names = head[3:]
	byID := map[string]*query{}
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		q := byID[rec[0]]
		if q == nil {
			q = &query{Set: rec[1]}
			byID[rec[0]] = q
			qs = append(qs, q)
		}
		x := make([]float64, len(names))
		for i := range names {
			x[i], _ = strconv.ParseFloat(rec[3+i], 64)
		}
		q.X = append(q.X, x)
		q.Y = append(q.Y, rec[2] == "1")
	}
	return names, qs, nil
}
