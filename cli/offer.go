package cli

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// offerCommand lists the offers matching some resources, through a run
// plan of a synthetic task that only asks for offers (reference §13).
func offerCommand() *cli.Command {
	return &cli.Command{
		Name:  "offer",
		Usage: "List offers",
		Flags: append(connFlags(), jsonFlag,
			&cli.StringFlag{Name: "gpu", Usage: "GPU `SPEC`: [vendor:][name:][memory:][count], e.g. A100:2, 24GB.., H100:8"},
			&cli.StringFlag{Name: "cpu", Usage: "CPU `SPEC`: [arch:]count, e.g. 8, 4.., arm:16"},
			&cli.StringFlag{Name: "memory", Usage: "memory `RANGE`, e.g. 64GB.."},
			&cli.StringFlag{Name: "disk", Usage: "disk `RANGE`, e.g. 200GB.."},
			&cli.StringSliceFlag{Name: "backend", Aliases: []string{"b"}, Usage: "only this `BACKEND` (repeatable)"},
			&cli.StringSliceFlag{Name: "region", Aliases: []string{"r"}, Usage: "only this `REGION` (repeatable)"},
			&cli.BoolFlag{Name: "spot", Usage: "only spot offers"},
			&cli.BoolFlag{Name: "on-demand", Usage: "only on-demand offers"},
			&cli.Float64Flag{Name: "max-price", Usage: "only offers up to this hourly `PRICE`"},
			&cli.IntFlag{Name: "max-offers", Value: 50, Usage: "number of offers to show"},
			&cli.StringSliceFlag{Name: "group-by", Usage: "group the offers' GPUs by `FIELDS` (gpu, backend, region, count); " +
				"must include gpu, and region needs backend; repeatable or comma-separated, e.g. --group-by gpu,backend"},
		),
		Action: withConn(offer),
	}
}

// offerOutput is `dstack offer --json`, shaped like upstream's.
type offerOutput struct {
	Project      string                  `json:"project"`
	User         string                  `json:"user"`
	Requirements offerRequirements       `json:"requirements"`
	Offers       []schemas.InstanceOffer `json:"offers"`
	TotalOffers  int                     `json:"total_offers"`
}

type offerRequirements struct {
	Resources   schemas.ResourcesSpec `json:"resources"`
	MaxPrice    *float64              `json:"max_price"`
	Spot        *bool                 `json:"spot"`
	Reservation *string               `json:"reservation"`
}

func offer(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	groupBy, err := parseGroupBy(c.StringSlice("group-by"))
	if err != nil {
		return err
	}
	spec, err := offerRunSpec(c)
	if err != nil {
		return err
	}
	if len(groupBy) > 0 {
		return offerGpus(c, cn, spec, groupBy)
	}
	maxOffers := c.Int("max-offers")
	plan, err := cn.GetRunPlan(c.Context, cn.Project, schemas.GetRunPlanRequest{RunSpec: spec, MaxOffers: &maxOffers, ForOffersOnly: true})
	if err != nil {
		return err
	}
	if len(plan.JobPlans) == 0 {
		return fmt.Errorf("the server returned a plan without jobs")
	}
	jp := plan.JobPlans[0]
	req := jp.JobSpec.Requirements
	if c.Bool("json") {
		return printJSON(c.App.Writer, offerOutput{Project: plan.ProjectName, User: plan.User,
			Requirements: offerRequirements{Resources: req.Resources, MaxPrice: req.MaxPrice, Spot: req.Spot, Reservation: req.Reservation},
			Offers:       append([]schemas.InstanceOffer{}, jp.Offers...), TotalOffers: jp.TotalOffers})
	}
	spot := "auto"
	if req.Spot != nil {
		spot = map[bool]string{true: "spot", false: "on-demand"}[*req.Spot]
	}
	out := c.App.Writer
	if err := printProps(out, [][2]string{{"Project", cn.Project}, {"Resources", formatRequirements(req.Resources)},
		{"Spot policy", spot}, {"Max price", formatMaxPrice(req.MaxPrice)}}); err != nil {
		return err
	}
	return printOffers(out, screenOf(out).width, jp.Offers, jp.TotalOffers, jp.MaxPrice)
}

// offerRunSpec is the synthetic task: image "scratch", commands [":"], user
// root, unconstrained resources (cpu 1.., memory 0.., any GPU count, no disk
// constraint) narrowed by the flags; no repo. Older servers recognise it by
// commands == [":"], newer ones by for_offers_only.
func offerRunSpec(c *cli.Context) (schemas.RunSpec, error) {
	t := schemas.NewTaskConfiguration()
	image, user := "scratch", "root"
	t.Image, t.User, t.Commands = &image, &user, []string{":"}
	t.Resources = schemas.ResourcesSpec{
		CPU:    schemas.CPUSpec{Count: schemas.RangeAtLeast(1)},
		Memory: schemas.RangeAtLeast[schemas.Memory](0),
		GPU:    &schemas.GPUSpec{Count: schemas.RangeAtLeast(0)},
	}
	if err := resourceFlags(c, &t.Resources); err != nil {
		return schemas.RunSpec{}, err
	}
	t.Backends, t.Regions = c.StringSlice("backend"), c.StringSlice("region")
	switch {
	case c.Bool("spot") && c.Bool("on-demand"):
		return schemas.RunSpec{}, usageError("--spot and --on-demand exclude each other")
	case c.Bool("spot"):
		p := schemas.SpotPolicySpot
		t.SpotPolicy = &p
	case c.Bool("on-demand"):
		p := schemas.SpotPolicyOnDemand
		t.SpotPolicy = &p
	}
	if c.IsSet("max-price") {
		p := c.Float64("max-price")
		t.MaxPrice = &p
	}
	return schemas.RunSpec{Configuration: schemas.RunConfiguration{Task: &t}, Profile: &schemas.Profile{Name: "default"},
		FileArchives: []schemas.FileArchiveRef{}}, nil
}

// resourceFlags overrides the parts of r that --cpu, --gpu, --memory and
// --disk give, parsed with the configuration file's grammar.
func resourceFlags(c *cli.Context, r *schemas.ResourcesSpec) error {
	given := map[string]string{}
	for _, f := range []string{"cpu", "gpu", "memory", "disk"} {
		if v := c.String(f); v != "" {
			given[f] = v
		}
	}
	if len(given) == 0 {
		return nil
	}
	data, _ := json.Marshal(given)
	var parsed schemas.ResourcesSpec
	if err := json.Unmarshal(data, &parsed); err != nil {
		return usageError("--%v", err)
	}
	if _, ok := given["cpu"]; ok {
		r.CPU = parsed.CPU
	}
	if _, ok := given["gpu"]; ok {
		r.GPU = parsed.GPU
	}
	if _, ok := given["memory"]; ok {
		r.Memory = parsed.Memory
	}
	if _, ok := given["disk"]; ok {
		r.Disk = parsed.Disk
	}
	return nil
}
