package cli

import (
	"strings"
)

// agentLevel maps upstream's numeric agent log levels (0-6, 5 = debug) to
// level names; names pass through.
func agentLevel(l string) string {
	switch strings.TrimSpace(l) {
	case "0", "1", "2":
		return "ERROR"
	case "3":
		return "WARNING"
	case "4":
		return "INFO"
	case "5", "6":
		return "DEBUG"
	}
	return l
}

// agentVersion is what the agents report; a non-release version makes
// upstream servers use the current shim API.
func agentVersion(b Build) string {
	v := strings.TrimPrefix(b.Version, "v")
	if v == "" || v == "dev" || strings.Contains(v, "-") {
		return "latest"
	}
	return v
}
