package schemas

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rules of this shape the project uses, and a few more.
var nameRulePatterns = []string{
	`^[a-z][a-z0-9-]{1,40}$`,
	`^[a-z0-9][a-z0-9-]{0,39}$`,
	`^[_\-a-zA-Z0-9]{1,60}$`,
	`^[a-zA-Z0-9 .:/=_\-+@]{0,256}$`,
	`^[a-zA-Z0-9-_]{1,50}$`,
	`^[A-Za-z0-9-_]{1,200}$`,
	`^[a-zA-Z0-9-_]{1,60}$`,
	`^[0-9a-f]{64}$`,
	`^[a-z][0-9][a-z]{2,}$`,
	`^[\p{L}é]{1,3}$`,
}

func TestNameRuleMatchesAsRegexp(t *testing.T) {
	inputs := []string{"", "a", "A", "-", "_", "ab", "a-b", "-ab", "a_b", "1ab", "ab1", "a b", "a.b:c/d=e+f@g",
		"é", "éé", "aé", "a\x00", "a\n", "\xff", "a\xff", "a1bc", "a1b", "a12",
		strings.Repeat("a", 39), strings.Repeat("a", 40), strings.Repeat("a", 41), strings.Repeat("a", 42),
		strings.Repeat("f", 63), strings.Repeat("f", 64), strings.Repeat("f", 65), strings.Repeat("A", 200), strings.Repeat("A", 201),
		strings.Repeat("x", 256), strings.Repeat("x", 257), strings.Repeat("é", 3), strings.Repeat("é", 4)}
	for _, p := range nameRulePatterns {
		rule, re := MustNameRule(p), regexp.MustCompile(p)
		assert.Equal(t, p, rule.String())
		for _, s := range inputs {
			assert.Equal(t, re.MatchString(s), rule.MatchString(s), "%s on %q", p, s)
		}
	}
}

func TestNameRuleRefusesOtherShapes(t *testing.T) {
	for _, p := range []string{`[a-z]{1,3}`, `^[a-z]{1,3}`, `^[a-z]$`, `^[a-z]{1,3}[a-z]$`, `^a[a-z]{1,3}$`, `^(ab){1,3}$`, `^[a-z`} {
		require.Panics(t, func() { MustNameRule(p) }, p)
	}
}
