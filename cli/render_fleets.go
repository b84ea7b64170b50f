package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/cli/pretty"
	"github.com/dstackgo/dstack/server/schemas"
)

// fleetsGrid is the table of `dstack fleet`: a row per fleet (what was asked
// for), then an indented row per instance (what exists). Newest fleets first.
func fleetsGrid(fleets []schemas.Fleet, project string, verbose bool, now time.Time) *grid {
	cols := []string{"NAME~", "NODES", "GPU~", "SPOT", "BACKEND~", "PRICE", "STATUS", "CREATED"}
	if verbose {
		cols = []string{"NAME~", "NODES", "RESOURCES~", "DRIVER", "SPOT", "BACKEND~", "PRICE", "STATUS", "CREATED", "ERROR~"}
	}
	g := newGrid(cols...)
	fleets = slices.Clone(fleets)
	slices.SortStableFunc(fleets, func(a, b schemas.Fleet) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, f := range fleets {
		g.addRow(fleetRow(f, project, verbose, now))
		for _, in := range f.Instances {
			g.addRow(instanceRow(in, verbose, now))
		}
	}
	return g
}

func fleetRow(f schemas.Fleet, project string, verbose bool, now time.Time) runRow {
	conf := f.Spec.Configuration
	name := f.Name
	if f.ProjectName != "" && f.ProjectName != project {
		name = f.ProjectName + "/" + name
	}
	row := runRow{"NAME": name, "STATUS": string(f.Status), "CREATED": pretty.Ago(f.CreatedAt, now)}
	if conf.SSHConfig != nil {
		row["NODES"], row["BACKEND"] = strconv.Itoa(len(conf.SSHConfig.Hosts)), "ssh"
	} else {
		row["NODES"], row["BACKEND"] = formatNodes(conf.Nodes), formatBackends(conf.Backends)
		if conf.Resources != nil {
			row["RESOURCES"], row["GPU"] = formatRequirements(*conf.Resources), fleetGPU(conf.Resources)
		}
		merged := schemas.MergeFleetProfile(f.Spec.Profile, conf)
		if merged.SpotPolicy != nil {
			row["SPOT"] = string(*merged.SpotPolicy)
		}
		if merged.MaxPrice != nil {
			row["PRICE"] = "$0.." + strings.TrimPrefix(formatPrice(*merged.MaxPrice), "$")
		}
	}
	if verbose && conf.Placement != nil && *conf.Placement == schemas.FleetPlacementCluster {
		row["NODES"] += " (cluster)"
	}
	return row
}

func instanceRow(in schemas.Instance, verbose bool, now time.Time) runRow {
	region := ""
	if in.Region != nil {
		region = *in.Region
	}
	if verbose && in.AvailabilityZone != nil {
		region = *in.AvailabilityZone
	}
	backend := ""
	if in.Backend != nil {
		backend = *in.Backend
	}
	row := runRow{"NAME": "   instance=" + strconv.Itoa(in.InstanceNum), "BACKEND": formatBackend(backend, region),
		"STATUS": instanceStatusText(in), "CREATED": pretty.Ago(in.Created, now)}
	deploying := backend == "remote" && (in.Status == schemas.InstancePending || in.Status == schemas.InstanceProvisioning)
	if in.InstanceType != nil && !deploying {
		row["RESOURCES"] = formatInstanceResources(in.InstanceType.Resources, false)
		row["GPU"] = formatGPUs(in.InstanceType.Resources)
	}
	if backend != "remote" {
		if in.InstanceType != nil {
			row["SPOT"] = map[bool]string{true: "spot", false: "on-demand"}[in.InstanceType.Resources.Spot]
		}
		if in.Price != nil {
			row["PRICE"] = formatPrice(*in.Price)
		}
	}
	if in.GpuDriver != nil {
		row["DRIVER"] = in.GpuDriver.Version
	}
	if in.Status == schemas.InstanceTerminated && in.TerminationReason != nil {
		row["ERROR"] = *in.TerminationReason
	}
	if in.StatusMessage != nil && *in.StatusMessage != "" && row["ERROR"] == "" {
		row["ERROR"] = *in.StatusMessage
	}
	return row
}

// instanceStatusText is the status, "N/M busy" for shared instances, and
// the health when it is not healthy.
func instanceStatusText(in schemas.Instance) string {
	s := string(in.Status)
	if in.Status.Active() && in.TotalBlocks != nil && *in.TotalBlocks > 1 {
		s = fmt.Sprintf("%d/%d busy", in.BusyBlocks, *in.TotalBlocks)
	}
	if in.Status.Active() {
		switch {
		case in.Unreachable:
			s += " (unreachable)"
		case in.HealthStatus != "" && in.HealthStatus != "healthy":
			s += " (" + in.HealthStatus + ")"
		}
	}
	return s
}

func formatNodes(n *schemas.FleetNodesSpec) string {
	switch {
	case n == nil:
		return ""
	case n.Max != nil && *n.Max == n.Min:
		return strconv.Itoa(n.Min)
	case n.Max == nil:
		return strconv.Itoa(n.Min) + ".."
	}
	return fmt.Sprintf("%d..%d", n.Min, *n.Max)
}

func formatBackends(bs []string) string {
	if len(bs) == 0 {
		return "*"
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = strings.ReplaceAll(b, "remote", "ssh")
	}
	return strings.Join(out, ", ")
}

// fleetGPU renders a fleet's GPU requirement (NAME:MEM:COUNT ranges), blank
// when it asks for none.
func fleetGPU(r *schemas.ResourcesSpec) string {
	g := r.GPU
	if g == nil || (g.Count.Min != nil && *g.Count.Min == 0 && (g.Count.Max == nil || *g.Count.Max == 0)) {
		return ""
	}
	parts := []string{"gpu"}
	if len(g.Name) > 0 {
		parts[0] = strings.Join(g.Name, ",")
	}
	if g.Memory != nil {
		parts = append(parts, g.Memory.String())
	}
	return strings.Join(append(parts, g.Count.String()), ":")
}

// printFleetPlan writes the plan header, then the hosts of an SSH fleet or
// the first offers of a cloud fleet.
func printFleetPlan(w io.Writer, width int, plan *schemas.FleetPlan) error {
	spec := plan.Spec
	if plan.EffectiveSpec != nil {
		spec = *plan.EffectiveSpec
	}
	if err := printProps(w, fleetPlanProps(plan, spec)); err != nil {
		return err
	}
	if ssh := spec.Configuration.SSHConfig; ssh != nil {
		return hostsGrid(ssh, blocksText(spec.Configuration.Blocks)).render(w, width)
	}
	if len(plan.Offers) == 0 {
		_, err := fmt.Fprintln(w, noOffersWarning)
		return err
	}
	const limit = 3
	g := newGrid("#", "BACKEND", "REGION~", "INSTANCE~", "RESOURCES~", "SPOT", "PRICE", "")
	for i, o := range plan.Offers[:min(limit, len(plan.Offers))] {
		r := o.Instance.Resources
		g.add(strconv.Itoa(i+1), formatBackend(o.Backend, ""), o.Region, o.Instance.Name,
			formatInstanceResources(r, false), map[bool]string{true: "yes", false: "no"}[r.Spot],
			formatPrice(o.Price), formatAvailability(o.Availability))
	}
	if len(plan.Offers) > limit {
		g.add("", "...")
	}
	if err := g.render(w, width); err != nil {
		return err
	}
	if len(plan.Offers) > limit {
		mp := 0.0
		if plan.MaxOfferPrice != nil {
			mp = *plan.MaxOfferPrice
		}
		fmt.Fprintf(w, " Shown %d of %d offers, %s max\n", limit, plan.TotalOffers, formatPrice(mp))
	}
	_, err := fmt.Fprintln(w)
	return err
}

func blocksText(b schemas.Blocks) string {
	if b.Auto {
		return "auto"
	}
	return strconv.Itoa(b.N)
}

func fleetPlanProps(plan *schemas.FleetPlan, spec schemas.FleetSpec) [][2]string {
	conf := spec.Configuration
	path := "?"
	if spec.ConfigurationPath != nil {
		path = *spec.ConfigurationPath
	}
	placement := "any"
	if conf.Placement != nil {
		placement = string(*conf.Placement)
	}
	props := [][2]string{{"Project", plan.ProjectName}, {"User", plan.User}, {"Configuration", path}, {"Type", "fleet"}}
	if ssh := conf.SSHConfig; ssh != nil {
		return append(props, [][2]string{{"Fleet type", "ssh"}, {"Nodes", strconv.Itoa(len(ssh.Hosts))}, {"Placement", placement}}...)
	}
	nodes := formatNodes(conf.Nodes)
	if nodes == "" {
		nodes = "-"
	}
	props = append(props, [][2]string{{"Fleet type", "cloud"}, {"Nodes", nodes}, {"Placement", placement}}...)
	if len(conf.Backends) > 0 {
		props = append(props, [2]string{"Backends", strings.Join(conf.Backends, ", ")})
	}
	if len(conf.Regions) > 0 {
		props = append(props, [2]string{"Regions", strings.Join(conf.Regions, ", ")})
	}
	if conf.Resources != nil {
		props = append(props, [2]string{"Resources", formatRequirements(*conf.Resources)})
	}
	if sp := schemas.MergeFleetProfile(spec.Profile, conf).SpotPolicy; sp != nil {
		props = append(props, [2]string{"Spot policy", string(*sp)})
	}
	if conf.Reservation != nil {
		props = append(props, [2]string{"Reservation", *conf.Reservation})
	}
	return props
}

// hostsGrid lists an SSH fleet's hosts with the port, user and blocks each
// is set up with (blocks: the fleet's unless the host overrides it).
func hostsGrid(ssh *schemas.SSHParams, fleetBlocks string) *grid {
	g := newGrid("#", "HOST~", "PORT", "USER", "BLOCKS")
	for i, h := range ssh.Hosts {
		port, user, blocks := 22, "", fleetBlocks
		if ssh.Port != nil {
			port = *ssh.Port
		}
		if ssh.User != nil {
			user = *ssh.User
		}
		if p := h.Params; p != nil {
			if p.Port != nil {
				port = *p.Port
			}
			if p.User != nil {
				user = *p.User
			}
			if p.Blocks != nil {
				blocks = blocksText(*p.Blocks)
			}
		}
		g.add(strconv.Itoa(i+1), h.Host(), strconv.Itoa(port), user, blocks)
	}
	return g
}
