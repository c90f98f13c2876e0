// Command rank fits a ranking model on the rows features.py writes and
// reports its MRR on each set: "rank linear" a weighted sum by coordinate
// ascent, "rank trees" gradient-boosted trees with a listwise softmax.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "linear" && os.Args[1] != "trees") {
		fmt.Fprintln(os.Stderr, "usage: rank linear|trees [flags] feats.csv")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	run := linear
	if os.Args[1] == "trees" {
		run = trees
	}
	run(fs, os.Args[2:])
}

// load parses the flags and reads the file they name.
func load(fs *flag.FlagSet, args []string) ([]string, []*query) {
	_ = fs.Parse(args)
	names, qs, err := read(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return names, qs
}
