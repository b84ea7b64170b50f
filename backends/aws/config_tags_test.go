package aws

import (
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// tagText accepts exactly the characters of the character class AWS
// documents for tags, every rune and an invalid byte tried.
func TestTagTextIsTheDocumentedClass(t *testing.T) {
	class := regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	for c := rune(0); c <= utf8.MaxRune; c++ {
		s := string(c)
		if tagText(s) != class.MatchString(s) {
			require.Failf(t, "tagText differs from the class", "rune %U: tagText %v", c, tagText(s))
		}
	}
	require.False(t, tagText("a\xffb"))
	require.True(t, tagText("Team é 42_.:/=+-@"))
}
