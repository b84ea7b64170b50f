package pretty

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ago  time.Duration
		want string
	}{
		{5 * time.Second, "now"}, {30 * time.Second, "30 sec ago"}, {90 * time.Second, "1 min ago"},
		{49 * time.Minute, "49 mins ago"}, {90 * time.Minute, "1 hour ago"}, {5 * time.Hour, "5 hours ago"},
		{29 * time.Hour, "yesterday"}, {3 * 24 * time.Hour, "3 days ago"}, {10 * 24 * time.Hour, "1 week ago"},
		{60 * 24 * time.Hour, "2 months ago"}, {800 * 24 * time.Hour, "2 years ago"},
	} {
		require.Equal(t, c.want, Ago(now.Add(-c.ago), now), c.ago)
	}
}
