package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/dstackgo/dstack/cli/pretty"
	"github.com/dstackgo/dstack/server/schemas"
)

// ago renders t relative to now, as the client's tables do.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return pretty.Ago(t, now)
}

// dur renders a duration compactly: 45s, 12m, 3h05m, 2d04h.
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours()/24), int(d.Hours())%24)
	}
}

// cost renders dollars: cents above a dollar, four places below.
func cost(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v >= 1:
		return fmt.Sprintf("$%.2f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

// resources renders an instance's resources: "16xCPU 64GB 2xA100:40GB 500GB".
func resources(r *schemas.Resources) string {
	if r == nil {
		return "-"
	}
	parts := []string{fmt.Sprintf("%dxCPU", r.CPUs), gb(r.MemoryMiB)}
	if len(r.Gpus) > 0 {
		g := r.Gpus[0]
		parts = append(parts, fmt.Sprintf("%dx%s:%s", len(r.Gpus), g.Name, gb(g.MemoryMiB)))
	}
	if r.Spot {
		parts = append(parts, "spot")
	}
	return strings.Join(parts, " ")
}

func gb(mib int) string {
	if mib%1024 == 0 {
		return fmt.Sprintf("%dGB", mib/1024)
	}
	return fmt.Sprintf("%.1fGB", float64(mib)/1024)
}

// submissionResources prefers the runtime offer (a share of a host) over
// the whole instance type.
func submissionResources(s *schemas.JobSubmission) *schemas.Resources {
	if s == nil {
		return nil
	}
	if s.JobRuntimeData != nil && s.JobRuntimeData.Offer != nil {
		return &s.JobRuntimeData.Offer.Instance.Resources
	}
	if s.JobProvisioningData != nil {
		return &s.JobProvisioningData.InstanceType.Resources
	}
	return nil
}

// fit truncates s to w cells (with "…") and pads it with spaces to w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

// clip truncates s to w cells without padding.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	// No rune is wider than its UTF-8 bytes: short strings need no measuring.
	if len(s) > w && ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// orDash returns s, or "-" when it is empty or nil.
func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// frame makes s exactly h lines of at most w cells, so a page can never
// push the layout around, whatever it drew.
func frame(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.SplitN(s, "\n", h+1)
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(clip(lines[i], w))
		}
	}
	return b.String()
}
