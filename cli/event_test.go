package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// TestPrintEventLikeTheOfficialCLI checks the one-line shape the official
// CLI prints: [time] [👤actor] [targets] message, with targets of another
// project prefixed by it and no actor for the server's own events.
func TestPrintEventLikeTheOfficialCLI(t *testing.T) {
	main, other, admin := "main", "team", "admin"
	at := time.Date(2026, 12, 3, 15, 53, 24, 0, time.Local)
	var buf bytes.Buffer
	printEvent(&buf, "main", schemas.Event{Message: "Secret created", RecordedAt: at, ActorUser: &admin,
		Targets: []schemas.EventTarget{{Type: "secret", Name: "tok", ProjectName: &main}}})
	printEvent(&buf, "main", schemas.Event{Message: "Run status changed RUNNING -> DONE", RecordedAt: at,
		Targets: []schemas.EventTarget{{Type: "run", Name: "hi", ProjectName: &other}}})
	require.Equal(t, "[2026-12-03 15:53:24] [👤admin] [secret tok] Secret created\n"+
		"[2026-12-03 15:53:24] [run team/hi] Run status changed RUNNING -> DONE\n", buf.String())
}
