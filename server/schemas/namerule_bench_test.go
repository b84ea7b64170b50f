package schemas

import (
	"regexp"
	"testing"
)

// nameRules are the rules the binary's packages declare at start.
var nameRules = []string{`^[a-zA-Z0-9-_]{1,50}$`, `^[A-Za-z0-9-_]{1,200}$`, `^[a-zA-Z0-9-_]{1,60}$`,
	`^[a-z][a-z0-9-]{1,40}$`, `^[0-9a-f]{64}$`, `^[a-zA-Z0-9-_]{1,50}$`, `^[a-z][a-z0-9-]{1,40}$`,
	`^[a-z][a-z0-9-]{1,40}$`, `^[a-z0-9][a-z0-9-]{0,39}$`, `^[_\-a-zA-Z0-9]{1,60}$`, `^[a-zA-Z0-9 .:/=_\-+@]{0,256}$`}

// BenchmarkNameRules is what the rules cost every start of the binary:
// parsed as NameRule, or compiled by regexp.
func BenchmarkNameRules(b *testing.B) {
	b.Run("NameRule", func(b *testing.B) {
		for b.Loop() {
			for _, p := range nameRules {
				_ = MustNameRule(p)
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			for _, p := range nameRules {
				_ = regexp.MustCompile(p)
			}
		}
	})
}
