package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// applyRun plans, confirms and submits a run, then follows it to its end
// unless -d (reference §13: repos/init, files/upload_archive, runs/get_plan,
// fleets/list when there are no offers, runs/apply).
func applyRun(c *cli.Context, cn *conn, rc schemas.RunConfiguration, path string, profile *schemas.Profile) error {
	ctx, base := c.Context, rc.Base()
	if len(base.Repos) > 0 {
		return fmt.Errorf("%s: `repos:` is not supported by this client yet; use `files:` to upload local code", path)
	}
	if err := cn.InitVirtualRepo(ctx, cn.Project); err != nil {
		return err
	}
	archives, err := uploadFiles(ctx, cn, base.Files, path)
	if err != nil {
		return err
	}
	repoID := client.VirtualRepoID
	spec := schemas.RunSpec{RunName: base.Name, RepoID: &repoID, RepoData: client.VirtualRepoInfo,
		FileArchives: archives, ConfigurationPath: &path, Configuration: rc, Profile: profile}
	maxOffers := c.Int("max-offers")
	plan, err := cn.GetRunPlan(ctx, cn.Project, schemas.GetRunPlanRequest{RunSpec: spec, MaxOffers: &maxOffers})
	if err != nil {
		return err
	}
	if err := printPlanWithFleets(c, cn, plan); err != nil {
		return err
	}
	stopFirst, question, proceed := runAction(c, plan, spec)
	if !proceed {
		return nil
	}
	if !c.Bool("yes") && !confirm(c, question) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if stopFirst != "" {
		if err := stopAndWait(ctx, cn, stopFirst); err != nil {
			return err
		}
	}
	run, err := cn.ApplyRunPlan(ctx, cn.Project, schemas.ApplyRunPlanRequest{
		Plan:  schemas.ApplyRunPlanInput{RunSpec: spec, CurrentResource: plan.CurrentResource},
		Force: c.Bool("force"),
	})
	if err != nil {
		return err
	}
	if c.Bool("detach") {
		verb := "submitted"
		if plan.Action == "update" && stopFirst == "" && plan.CurrentResource != nil {
			verb = "updated"
		}
		fmt.Fprintf(c.App.Writer, "Run %s %s, detaching...\n", runName(run), verb)
		return nil
	}
	return followRun(c, cn, run)
}

// printPlanWithFleets prints the plan; without offers it first asks
// whether the project has fleets at all, to say so instead.
func printPlanWithFleets(c *cli.Context, cn *conn, plan *schemas.RunPlan) error {
	noFleets := false
	if len(plan.JobPlans) > 0 && len(plan.JobPlans[0].Offers) == 0 {
		fleets, err := cn.ListFleets(c.Context, cn.Project)
		if err != nil {
			return err
		}
		noFleets = len(fleets) == 0
	}
	return printRunPlan(c.App.Writer, screenOf(c.App.Writer).width, plan, noFleets)
}

// runAction says what applying does to an active run of the same name:
// update it in place, or stop it first (stopFirst). proceed is false when
// there is nothing to do.
func runAction(c *cli.Context, plan *schemas.RunPlan, spec schemas.RunSpec) (stopFirst, question string, proceed bool) {
	out, cur := c.App.Writer, plan.CurrentResource
	question = "Submit a new run?"
	if spec.RunName != nil {
		question = fmt.Sprintf("Submit the run %s?", *spec.RunName)
	}
	if cur == nil || cur.Status.Finished() {
		return "", question, true
	}
	name, effective := runName(cur), spec
	if plan.EffectiveRunSpec != nil {
		effective = *plan.EffectiveRunSpec
	}
	switch {
	case plan.Action == "update" && sameRunSpec(cur.RunSpec, effective):
		if c.Bool("yes") && !c.Bool("force") {
			fmt.Fprintf(out, "Active run %s already exists. Detected no changes. Use --force to apply anyway.\n", name)
			return "", "", false
		}
		fmt.Fprintf(out, "Active run %s already exists. Detected no changes.\n", name)
		return name, "Stop and override the run?", true
	case plan.Action == "update":
		fmt.Fprintf(out, "Active run %s already exists. Detected changes that can be updated in-place.\n", name)
		return "", "Update the run?", true
	}
	fmt.Fprintf(out, "Active run %s already exists. Detected changes that cannot be updated in-place.\n", name)
	return name, "Stop and override the run?", true
}

func sameRunSpec(a, b schemas.RunSpec) bool {
	a.SSHKeyPub, b.SSHKeyPub = nil, nil
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// stopAndWait stops a run gracefully and waits (1 s polls) until it is
// finished or gone.
func stopAndWait(ctx context.Context, cn *conn, name string) error {
	if err := cn.StopRuns(ctx, cn.Project, []string{name}, false); err != nil {
		return err
	}
	for {
		r, err := cn.GetRun(ctx, cn.Project, name)
		if client.IsNotFound(err) || (err == nil && r.Status.Finished()) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func runName(r *schemas.Run) string {
	if r.RunSpec.RunName != nil {
		return *r.RunSpec.RunName
	}
	return r.ID
}
