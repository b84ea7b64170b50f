package schemas

import (
	"fmt"
	"regexp/syntax"
	"unicode/utf8"
)

// NameRule is a regular expression of the shape rules for names have: ^,
// character classes, the last one with a counted repetition, $ (for example
// ^[a-z][a-z0-9-]{1,40}$). It matches as regexp would but without compiling
// the expression: a counted repetition compiles to a program with one copy
// of its class per count, and the package-level rules were compiled at every
// start of the binary: with them server/schemas, server/services and
// server/config initialised in 6.6-8.1 ms and allocated 865 KB, a fifth of
// all package initialisation of `dstack ps`; with NameRule, 0.3-0.7 ms and
// 57 KB (GODEBUG=inittrace=1, machine under load). BenchmarkNameRules: the
// binary's 11 rules take 0.03 ms and 10 KB as NameRule, 1.7 ms and 818 KB
// compiled by regexp.
type NameRule struct {
	pattern  string
	classes  [][]rune // the single characters before the repetition, as syntax.Regexp.Rune ranges
	repeated []rune   // the class of the repetition
	min, max int      // max -1: no bound
}

// MustNameRule parses a rule; it panics when the pattern is not a valid
// regular expression of that shape (as regexp.MustCompile does for a valid
// one), so a wrong rule fails at start.
func MustNameRule(pattern string) NameRule {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(fmt.Sprintf("name rule %q: %v", pattern, err))
	}
	sub := re.Sub
	if re.Op != syntax.OpConcat || len(sub) < 3 || sub[0].Op != syntax.OpBeginText || sub[len(sub)-1].Op != syntax.OpEndText {
		panic(fmt.Sprintf("name rule %q: not ^…$", pattern))
	}
	rule := NameRule{pattern: pattern}
	for i, s := range sub[1 : len(sub)-1] {
		last := i == len(sub)-3
		switch {
		case s.Op == syntax.OpCharClass && !last:
			rule.classes = append(rule.classes, s.Rune)
		case s.Op == syntax.OpRepeat && last && s.Sub[0].Op == syntax.OpCharClass:
			rule.repeated, rule.min, rule.max = s.Sub[0].Rune, s.Min, s.Max
		default:
			panic(fmt.Sprintf("name rule %q: %s is neither a class before the end nor a counted class at the end", pattern, s))
		}
	}
	if rule.repeated == nil {
		panic(fmt.Sprintf("name rule %q: no counted class at the end", pattern))
	}
	return rule
}

// MatchString reports whether s matches the rule.
func (r NameRule) MatchString(s string) bool {
	for _, class := range r.classes {
		c, size := utf8.DecodeRuneInString(s)
		if size == 0 || !inClass(class, c) {
			return false
		}
		s = s[size:]
	}
	n := 0
	for _, c := range s {
		if !inClass(r.repeated, c) {
			return false
		}
		n++
	}
	return n >= r.min && (r.max < 0 || n <= r.max)
}

// String is the rule as a regular expression, as messages show it.
func (r NameRule) String() string { return r.pattern }

// inClass reports whether c is in ranges (pairs of first and last rune).
func inClass(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}
