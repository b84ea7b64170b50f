package services

import (
	"crypto/rand"
	"math/big"
)

var (
	adjectives = []string{"amber", "bold", "brave", "bright", "calm", "clever", "cool", "crisp", "eager", "fancy",
		"fast", "fresh", "gentle", "glad", "golden", "grand", "happy", "keen", "kind", "lively", "lucky", "mellow",
		"merry", "mighty", "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "shiny", "silent",
		"smart", "snowy", "steady", "sunny", "swift", "tidy", "wise"}
	animals = []string{"ant", "bear", "bee", "bison", "cat", "cobra", "crab", "crane", "deer", "dog", "dove",
		"eagle", "elk", "falcon", "fox", "frog", "gecko", "goat", "hawk", "heron", "horse", "ibis", "koala",
		"lion", "lynx", "mole", "moose", "newt", "otter", "owl", "panda", "puma", "quail", "raven", "seal",
		"shark", "snail", "swan", "tiger", "wolf"}
)

func pick(xs []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(xs))))
	return xs[n.Int64()]
}

// randomName makes an upstream-style generated name: adjective-animal.
func randomName() string { return pick(adjectives) + "-" + pick(animals) }
