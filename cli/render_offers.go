package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Warnings printed instead of an empty offers table.
const (
	noOffersWarning = "No matching instance offers available. Possible reasons: https://dstack.ai/docs/guides/troubleshooting/#no-offers"
	noFleetsWarning = "The project has no fleets. Create one (`dstack apply -f fleet.dstack.yml`) before submitting a run.\n" +
		"See https://dstack.ai/docs/guides/troubleshooting/#no-fleets"
)

// formatGB renders MiB as GB with one decimal at most: 512 → 0.5GB, 8192 → 8GB.
func formatGB(mib int) string {
	gb := float64(mib) / 1024
	return strconv.FormatFloat(float64(int64(gb*10+0.5))/10, 'g', -1, 64) + "GB"
}

// formatBackend renders a backend with its region; SSH hosts (backend
// "remote") read "ssh".
func formatBackend(backend, region string) string {
	if backend == "" {
		return "-"
	}
	if backend == "remote" {
		backend = "ssh"
	}
	if region != "" {
		backend += " (" + region + ")"
	}
	return backend
}

// formatGPUs renders an instance's GPUs as NAME:MEM:COUNT, "-" without GPUs.
func formatGPUs(r schemas.Resources) string {
	if len(r.Gpus) == 0 {
		return "-"
	}
	g := r.Gpus[0]
	parts := []string{g.Name}
	if g.MemoryMiB > 0 {
		parts = append(parts, formatGB(g.MemoryMiB))
	}
	return strings.Join(append(parts, strconv.Itoa(len(r.Gpus))), ":")
}

// formatInstanceResources renders an instance type's resources like
// upstream: "cpu=16 mem=64GB disk=500GB gpu=A100:40GB:2", with " (spot)".
func formatInstanceResources(r schemas.Resources, withSpot bool) string {
	var parts []string
	if r.CPUs > 0 {
		cpu := strconv.Itoa(r.CPUs)
		if r.CPUArch != nil {
			cpu = strings.ToLower(*r.CPUArch) + ":" + cpu
		}
		parts = append(parts, "cpu="+cpu)
	}
	if r.MemoryMiB > 0 {
		parts = append(parts, "mem="+formatGB(r.MemoryMiB))
	}
	if r.Disk.SizeMiB > 0 {
		parts = append(parts, "disk="+formatGB(r.Disk.SizeMiB))
	}
	if len(r.Gpus) > 0 {
		parts = append(parts, "gpu="+formatGPUs(r))
	}
	out := strings.Join(parts, " ")
	if withSpot && r.Spot {
		out += " (spot)"
	}
	return out
}

// formatRequirements renders a resources spec (what a run asks for):
// "cpu=2.. mem=8GB.. disk=100GB.. gpu=A100:40GB..:2".
func formatRequirements(r schemas.ResourcesSpec) string {
	cpu := r.CPU.Count.String()
	if r.CPU.Arch != nil {
		cpu = string(*r.CPU.Arch) + ":" + cpu
	}
	parts := []string{"cpu=" + cpu, "mem=" + r.Memory.String()}
	if r.Disk != nil {
		parts = append(parts, "disk="+r.Disk.Size.String())
	}
	if g := r.GPU; g != nil && !noGPUConstraint(*g) {
		var gp []string
		switch {
		case len(g.Name) > 0:
			gp = append(gp, strings.Join(g.Name, ","))
		case g.Vendor != nil:
			gp = append(gp, string(*g.Vendor))
		}
		if g.Memory != nil {
			gp = append(gp, g.Memory.String())
		}
		gp = append(gp, g.Count.String())
		if g.TotalMemory != nil {
			gp = append(gp, g.TotalMemory.String())
		}
		parts = append(parts, "gpu="+strings.Join(gp, ":"))
	}
	return strings.Join(parts, " ")
}

// formatAvailability is blank for usable offers, else the availability in words.
func formatAvailability(a schemas.OfferAvailability) string {
	if a == schemas.AvailabilityUnknown || a == schemas.AvailabilityAvailable || a == "" {
		return ""
	}
	return strings.ReplaceAll(string(a), "_", " ")
}

// formatMaxPrice renders a price cap, "off" without one.
func formatMaxPrice(p *float64) string {
	if p == nil || *p == 0 {
		return "off"
	}
	return formatPrice(*p)
}

// offersGrid is the offers table of `dstack apply` and `dstack offer`.
func offersGrid(offers []schemas.InstanceOffer) *grid {
	g := newGrid("#", "BACKEND~", "RESOURCES~", "INSTANCE TYPE", "PRICE", "")
	for i, o := range offers {
		it := o.Instance.Name
		if o.TotalBlocks > 1 {
			it += fmt.Sprintf(" (%d/%d)", o.Blocks, o.TotalBlocks)
		}
		g.add(strconv.Itoa(i+1), formatBackend(o.Backend, o.Region),
			formatInstanceResources(o.Instance.Resources, true), it,
			formatPrice(o.Price), formatAvailability(o.Availability))
	}
	return g
}

// printOffers writes the offers table with a "shown N of M" tail, or the
// no-offers warning.
func printOffers(w io.Writer, width int, offers []schemas.InstanceOffer, total int, maxPrice *float64) error {
	if len(offers) == 0 {
		_, err := fmt.Fprintln(w, noOffersWarning)
		return err
	}
	g := offersGrid(offers)
	if total > len(offers) {
		g.add("", "...")
	}
	if err := g.render(w, width); err != nil {
		return err
	}
	if total > len(offers) {
		mp := 0.0
		if maxPrice != nil {
			mp = *maxPrice
		}
		fmt.Fprintf(w, " Shown %d of %d offers, %s max\n", len(offers), total, formatPrice(mp))
	}
	return nil
}

// printProps writes "key  value" lines (the plan headers) and a blank line.
func printProps(w io.Writer, props [][2]string) error {
	width := 0
	for _, p := range props {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range props {
		fmt.Fprintf(&b, " %-*s  %s\n", width, p[0], p[1])
	}
	_, err := io.WriteString(w, b.String()+"\n")
	return err
}

// noGPUConstraint reports a GPU spec that asks for nothing: count 0..0, or
// 0.. without names or memory (a vendor alone does not constrain).
func noGPUConstraint(g schemas.GPUSpec) bool {
	zeroMin := g.Count.Min == nil || *g.Count.Min == 0
	if g.Count.Max != nil && *g.Count.Max == 0 {
		return true
	}
	return zeroMin && g.Count.Max == nil && len(g.Name) == 0 && g.Memory == nil && g.TotalMemory == nil
}
