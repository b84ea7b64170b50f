package scaletest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dstackgo/dstack/server/schemas"
)

// TaskSpec is the run spec the CLI sends for a one-node task with small
// resources that any hollow host fits.
func TaskSpec(name string, commands ...string) (schemas.RunSpec, error) {
	cmds, err := json.Marshal(commands)
	if err != nil {
		return schemas.RunSpec{}, err
	}
	raw := `{"run_name": "` + name + `", "repo_id": "none", "repo_data": {"repo_type": "virtual"},
		"configuration": {"type": "task", "commands": ` + string(cmds) + `,
		"resources": {"cpu": {"count": {"min": 1}}, "memory": {"min": 0.1}, "disk": {"size": {"min": 1}}}},
		"profile": {"name": "default"}}`
	var spec schemas.RunSpec
	err = json.Unmarshal([]byte(raw), &spec)
	return spec, err
}

// Submit plans and applies a task as the CLI does (runs/get_plan, then
// runs/apply).
func (s *Server) Submit(ctx context.Context, name string, commands ...string) error {
	spec, err := TaskSpec(name, commands...)
	if err != nil {
		return err
	}
	var plan schemas.RunPlan
	if err := s.Call(ctx, "/api/project/main/runs/get_plan", schemas.GetRunPlanRequest{RunSpec: spec}, &plan); err != nil {
		return fmt.Errorf("plan %s: %w", name, err)
	}
	var run schemas.Run
	req := schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: plan.RunSpec, CurrentResource: plan.CurrentResource}}
	if err := s.Call(ctx, "/api/project/main/runs/apply", req, &run); err != nil {
		return fmt.Errorf("apply %s: %w", name, err)
	}
	return nil
}

// Run returns a run by name.
func (s *Server) Run(ctx context.Context, name string) (*schemas.Run, error) {
	var run schemas.Run
	err := s.Call(ctx, "/api/project/main/runs/get", schemas.GetRunRequest{RunName: &name}, &run)
	return &run, err
}
