package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// groupByValues are the --group-by fields, in the order the help lists them.
var groupByValues = []string{"gpu", "backend", "region", "count"}

// parseGroupBy reads --group-by (repeated or comma-separated): known
// fields only, and "gpu" among them when any is given.
func parseGroupBy(given []string) ([]string, error) {
	var out []string
	for _, arg := range given {
		for _, v := range strings.Split(arg, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if !slices.Contains(groupByValues, v) {
				return nil, usageError("invalid --group-by value %q: accepted values are %s", v, strings.Join(groupByValues, ", "))
			}
			out = append(out, v)
		}
	}
	if len(out) > 0 && !slices.Contains(out, "gpu") {
		return nil, usageError("cannot group by '%s' without also grouping by 'gpu'", strings.Join(out, ", "))
	}
	return out, nil
}

// offerGpuOutput is `dstack offer --group-by gpu --json`, shaped like upstream's.
type offerGpuOutput struct {
	Project      string             `json:"project"`
	Requirements offerRequirements  `json:"requirements"`
	GroupBy      []string           `json:"group_by"`
	Gpus         []schemas.GpuGroup `json:"gpus"`
}

// offerGpus lists the GPUs of the offers, grouped (gpus/list).
func offerGpus(c *cli.Context, cn *conn, spec schemas.RunSpec, groupBy []string) error {
	var fields []string
	for _, g := range groupBy {
		if g != "gpu" {
			fields = append(fields, g)
		}
	}
	gpus, err := cn.ListGpus(c.Context, cn.Project, schemas.ListGpusRequest{RunSpec: spec, GroupBy: append([]string{}, fields...)})
	if err != nil {
		return err
	}
	t := spec.Configuration.Task
	var spot *bool
	if t.SpotPolicy != nil && *t.SpotPolicy != schemas.SpotPolicyAuto {
		v := *t.SpotPolicy == schemas.SpotPolicySpot
		spot = &v
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, offerGpuOutput{Project: cn.Project, GroupBy: groupBy, Gpus: gpus,
			Requirements: offerRequirements{Resources: t.Resources, MaxPrice: t.MaxPrice, Spot: spot, Reservation: t.Reservation}})
	}
	spotText := "auto"
	if spot != nil {
		spotText = map[bool]string{true: "spot", false: "on-demand"}[*spot]
	}
	maxPrice := "-"
	if t.MaxPrice != nil && *t.MaxPrice > 0 {
		maxPrice = formatPrice(*t.MaxPrice)
	}
	reservation := "-"
	if t.Reservation != nil && *t.Reservation != "" {
		reservation = *t.Reservation
	}
	out := c.App.Writer
	if err := printProps(out, [][2]string{{"Project", cn.Project}, {"Resources", formatRequirements(t.Resources)},
		{"Spot policy", spotText}, {"Max price", maxPrice}, {"Reservation", reservation},
		{"Group by", strings.Join(groupBy, ", ")}}); err != nil {
		return err
	}
	return gpuGroupsGrid(gpus).render(out, screenOf(out).width)
}

// gpuGroupsGrid is the table of `dstack offer --group-by gpu`: a BACKEND
// and a REGION (or REGIONS) column when the rows have one backend each,
// else a BACKENDS column with the regions in brackets.
func gpuGroupsGrid(gpus []schemas.GpuGroup) *grid {
	oneBackend := slices.ContainsFunc(gpus, func(g schemas.GpuGroup) bool { return g.Backend != "" })
	oneRegion := slices.ContainsFunc(gpus, func(g schemas.GpuGroup) bool { return g.Region != "" })
	regions := slices.ContainsFunc(gpus, func(g schemas.GpuGroup) bool { return len(g.Regions) > 0 })
	headers := []string{"#", "GPU", "SPOT", "$/GPU"}
	regionColumn := true
	switch {
	case oneBackend && oneRegion:
		headers = append(headers, "BACKEND~", "REGION~")
	case oneBackend && regions:
		headers = append(headers, "BACKEND~", "REGIONS~")
	default:
		headers = append(headers, "BACKENDS~")
		regionColumn = false
	}
	g := newGrid(append(headers, "")...)
	for i, gg := range gpus {
		backend := strings.Join(gg.Backends, ", ")
		if gg.Backend != "" {
			backend = gg.Backend
		}
		region := gg.Region
		if region == "" && len(gg.Regions) > 3 {
			region = fmt.Sprintf("%d regions", len(gg.Regions))
		} else if region == "" {
			region = strings.Join(gg.Regions, ", ")
		}
		if !regionColumn && region != "" {
			backend += " (" + region + ")"
		}
		row := []string{strconv.Itoa(i + 1), formatGpuGroup(gg), strings.Join(gg.Spot, ", "),
			formatRange(gg.Price.Min, gg.Price.Max, formatGpuPrice), backend}
		if regionColumn {
			row = append(row, region)
		}
		g.add(append(row, gpuGroupAvailability(gg.Availability))...)
	}
	return g
}

// formatGpuGroup renders a row's GPU as NAME:MEMGB:COUNT (COUNT a range
// when its offers differ).
func formatGpuGroup(g schemas.GpuGroup) string {
	return fmt.Sprintf("%s:%dGB:%s", g.Name, g.MemoryMiB/1024, formatRange(g.Count.Min, g.Count.Max, strconv.Itoa))
}

func formatRange[T comparable](lo, hi T, f func(T) string) string {
	if lo == hi {
		return f(lo)
	}
	return f(lo) + ".." + f(hi)
}

// formatGpuPrice renders a price per GPU with four decimals at most, no
// trailing zeros and no currency sign.
func formatGpuPrice(p float64) string {
	return strings.TrimPrefix(formatPrice(p), "$")
}

// gpuGroupAvailability is blank when one of the row's offers is usable,
// else its availabilities in words.
func gpuGroupAvailability(as []schemas.OfferAvailability) string {
	if slices.ContainsFunc(as, schemas.OfferAvailability.Available) {
		return ""
	}
	var words []string
	for _, a := range as {
		if w := formatAvailability(a); !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return strings.Join(words, ", ")
}
