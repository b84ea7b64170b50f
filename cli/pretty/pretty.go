// Package pretty formats values for people: the one place where the client's
// tables and the console say how long ago something happened.
package pretty

import (
	"fmt"
	"math"
	"time"
)

// Ago renders t relative to now the way upstream's tables do
// ("now", "12 sec ago", "3 mins ago", "yesterday", "2 weeks ago", ...).
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return ""
	}
	days, secs := int(d.Hours()/24), int(d.Seconds())%86400
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case days == 0 && secs < 10:
		return "now"
	case days == 0 && secs < 60:
		return fmt.Sprintf("%d sec ago", secs)
	case days == 0 && secs < 120:
		return "1 min ago"
	case days == 0 && secs < 3600:
		return fmt.Sprintf("%d mins ago", roundDiv(secs, 60))
	case days == 0 && secs < 7200:
		return "1 hour ago"
	case days == 0:
		return fmt.Sprintf("%d hours ago", roundDiv(secs, 3600))
	case days == 1:
		return "yesterday"
	case days < 7:
		return fmt.Sprintf("%d days ago", days)
	case days < 31:
		return plural(roundDiv(days, 7), "week")
	case days < 365:
		return plural(roundDiv(days, 30), "month")
	}
	return plural(roundDiv(days, 365), "year")
}

// roundDiv is a/b rounded half to even, like Python's round().
func roundDiv(a, b int) int { return int(math.RoundToEven(float64(a) / float64(b))) }
