package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/cli/pretty"
	"github.com/dstackgo/dstack/server/schemas"
)

// runsGrid is the table of `dstack ps`: one row per run, or a run row
// followed by one indented row per job when the run has several jobs.
// verbose swaps GPU for RESOURCES and INSTANCE TYPE and adds ERROR.
func runsGrid(runs []schemas.Run, verbose bool, now time.Time) *grid {
	cols := []string{"NAME~", "BACKEND~", "GPU~", "PRICE", "STATUS", "SUBMITTED"}
	if verbose {
		cols = []string{"NAME~", "BACKEND~", "RESOURCES~", "INSTANCE TYPE~", "PRICE", "STATUS", "SUBMITTED", "ERROR~"}
	}
	g := newGrid(cols...)
	for _, r := range runs {
		addRunRows(g, r, verbose, now)
	}
	return g
}

// runRow is one row of the runs table, by column.
type runRow map[string]string

func (g *grid) addRow(row runRow) {
	cells := make([]string, len(g.headers))
	for i, h := range g.headers {
		cells[i] = row[h]
	}
	g.add(cells...)
}

func addRunRows(g *grid, r schemas.Run, verbose bool, now time.Time) {
	name := ""
	if r.RunSpec.RunName != nil {
		name = *r.RunSpec.RunName
	}
	row := runRow{"NAME": name, "SUBMITTED": pretty.Ago(r.SubmittedAt, now), "STATUS": runStatusText(r),
		"BACKEND": "", "RESOURCES": "-", "GPU": "-", "PRICE": "-", "INSTANCE TYPE": ""}
	if r.Error != nil {
		row["ERROR"] = *r.Error
	}
	showReplica, showJob := jobLabels(r.Jobs)
	if len(r.Jobs) != 1 {
		g.addRow(row)
	}
	for _, j := range r.Jobs {
		if len(j.JobSubmissions) == 0 {
			continue
		}
		js := jobRow(j, showReplica, showJob, now)
		if len(r.Jobs) == 1 {
			for _, k := range []string{"NAME", "SUBMITTED", "ERROR"} {
				if v, ok := row[k]; ok {
					js[k] = v
				}
			}
		}
		g.addRow(js)
	}
}

// jobLabels says whether job rows need replica= and job= labels.
func jobLabels(jobs []schemas.Job) (replica, job bool) {
	replicas := map[int]map[int]bool{}
	for _, j := range jobs {
		if replicas[j.JobSpec.ReplicaNum] == nil {
			replicas[j.JobSpec.ReplicaNum] = map[int]bool{}
		}
		replicas[j.JobSpec.ReplicaNum][j.JobSpec.JobNum] = true
	}
	for _, nums := range replicas {
		job = job || len(nums) > 1
	}
	return len(replicas) > 1, job
}

func jobRow(j schemas.Job, showReplica, showJob bool, now time.Time) runRow {
	sub := j.JobSubmissions[len(j.JobSubmissions)-1]
	var label []string
	if showReplica {
		label = append(label, "replica="+strconv.Itoa(j.JobSpec.ReplicaNum))
	}
	if showJob {
		label = append(label, "job="+strconv.Itoa(j.JobSpec.JobNum))
	}
	row := runRow{"NAME": "   " + strings.Join(label, " "), "STATUS": jobStatusText(sub),
		"SUBMITTED": pretty.Ago(sub.SubmittedAt, now), "BACKEND": "", "RESOURCES": "-", "GPU": "-", "PRICE": "-"}
	if sub.Error != nil {
		row["ERROR"] = *sub.Error
	}
	jpd := sub.JobProvisioningData
	if jpd == nil {
		return row
	}
	it, price, instance := jpd.InstanceType, jpd.Price, jpd.InstanceType.Name
	if jrd := sub.JobRuntimeData; jrd != nil && jrd.Offer != nil && jrd.Offer.TotalBlocks > 1 {
		it, price = jrd.Offer.Instance, jrd.Offer.Price
		instance = fmt.Sprintf("%s (%d/%d)", it.Name, jrd.Offer.Blocks, jrd.Offer.TotalBlocks)
	}
	if jpd.Reservation != nil {
		instance += " (" + *jpd.Reservation + ")"
	}
	row["BACKEND"] = formatBackend(jpd.Backend, jpd.Region)
	row["RESOURCES"] = formatInstanceResources(it.Resources, false)
	row["GPU"] = formatGPUs(it.Resources)
	row["INSTANCE TYPE"] = instance
	row["PRICE"] = formatPrice(price)
	if it.Resources.Spot {
		row["PRICE"] += " (spot)"
	}
	return row
}

// runStatusText is what STATUS shows for a run: its status message, or,
// once finished, its latest job's (e.g. "exited (1)").
func runStatusText(r schemas.Run) string {
	if r.Status.Finished() && r.LatestJobSubmission != nil {
		return jobStatusText(*r.LatestJobSubmission)
	}
	if r.StatusMessage != "" {
		return r.StatusMessage
	}
	return string(r.Status)
}

func jobStatusText(s schemas.JobSubmission) string {
	if s.StatusMessage != "" {
		return s.StatusMessage
	}
	return string(s.Status)
}

// printRunPlan writes the plan header and the offers of job_plans[0];
// noFleets replaces the no-offers warning when the project has no fleets.
func printRunPlan(w io.Writer, width int, plan *schemas.RunPlan, noFleets bool) error {
	spec := plan.RunSpec
	if plan.EffectiveRunSpec != nil {
		spec = *plan.EffectiveRunSpec
	}
	if len(plan.JobPlans) == 0 {
		return fmt.Errorf("the server returned a plan without jobs")
	}
	jp := plan.JobPlans[0]
	if err := printProps(w, runPlanProps(plan, spec, jp)); err != nil {
		return err
	}
	if len(jp.Offers) == 0 && noFleets {
		_, err := fmt.Fprintln(w, noFleetsWarning)
		return err
	}
	if err := printOffers(w, width, jp.Offers, jp.TotalOffers, jp.MaxPrice); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func runPlanProps(plan *schemas.RunPlan, spec schemas.RunSpec, jp schemas.JobPlan) [][2]string {
	conf := spec.Configuration
	typ := conf.Type()
	if t := conf.Task; t != nil {
		typ += fmt.Sprintf(" (nodes=%d)", taskNodes(t))
	}
	req := jp.JobSpec.Requirements
	spot := "auto"
	if req.Spot != nil {
		spot = map[bool]string{true: "spot", false: "on-demand"}[*req.Spot]
	}
	retry := "off"
	if r := jp.JobSpec.Retry; r != nil {
		events := make([]string, len(r.OnEvents))
		for i, e := range r.OnEvents {
			events[i] = string(e)
		}
		retry = formatDuration(r.Duration) + "[" + strings.Join(events, ", ") + "]"
	}
	maxDuration := "off"
	if d := jp.JobSpec.MaxDuration; d != nil && *d > 0 {
		maxDuration = formatDuration(*d)
	}
	props := [][2]string{{"Project", plan.ProjectName}, {"User", plan.User}}
	if spec.ConfigurationPath != nil {
		props = append(props, [2]string{"Configuration", *spec.ConfigurationPath})
	}
	props = append(props, [][2]string{
		{"Type", typ}, {"Resources", formatRequirements(req.Resources)}, {"Spot policy", spot},
		{"Max price", formatMaxPrice(req.MaxPrice)}, {"Retry policy", retry},
		{"Idle duration", runIdleDuration(spec)}, {"Max duration", maxDuration},
	}...)
	if d := conf.DevEnvironment; d != nil {
		props = append(props, [2]string{"Inactivity duration", inactivityText(d)})
	}
	if req.Reservation != nil {
		props = append(props, [2]string{"Reservation", *req.Reservation})
	}
	return props
}

func taskNodes(t *schemas.TaskConfiguration) int {
	if len(t.Groups) > 0 {
		n := 0
		for _, g := range t.Groups {
			n += g.Nodes
		}
		return n
	}
	if t.Nodes != nil {
		return *t.Nodes
	}
	return 1
}

// runIdleDuration is how long the run's instance may stay idle ("-": never
// terminated for idleness).
func runIdleDuration(spec schemas.RunSpec) string {
	var params schemas.ProfileParams
	if p := spec.Configuration.Params(); p != nil {
		params = *p
	}
	idle := schemas.MergeRunProfile(spec.Profile, params).ResolvedIdleDuration(schemas.DefaultRunIdleDuration)
	if idle < 0 {
		return "-"
	}
	return formatDuration(int(idle))
}

func inactivityText(d *schemas.DevEnvironmentConfiguration) string {
	if a := d.InactivityDuration; a.Set && !a.Off && a.Seconds > 0 {
		return formatDuration(int(a.Seconds))
	}
	return "off"
}
