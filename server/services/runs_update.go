package services

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// What an active run's apply may change in place, as upstream's: any run
// its configuration's priority; a service also its replica count and
// scaling (applied by scaling) and what its jobs run (applied by a rolling
// update: new replicas start before old ones stop).
var (
	updatableSpecFields        = []string{"configuration_path", "configuration"}
	updatableServiceSpecFields = []string{"repo_data", "repo_code_hash", "file_archives", "working_dir"}
	updatableConfFields        = []string{"priority"}
	updatableServiceConfFields = []string{"replicas", "groups", "scaling", "port", "probes", "resources", "volumes",
		"docker", "files", "image", "user", "privileged", "entrypoint", "working_dir", "python", "nvcc",
		"single_branch", "env", "shell", "commands"}
)

// checkUpdate says why the stored spec cannot become spec in place (nil
// when it can). Both are compared as the JSON they are stored as.
func checkUpdate(stored string, spec schemas.RunSpec) error {
	var cur, next map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stored), &cur); err != nil {
		return fmt.Errorf("read the stored run spec: %w", err)
	}
	if err := json.Unmarshal([]byte(marshal(spec)), &next); err != nil {
		return fmt.Errorf("read the run spec: %w", err)
	}
	service := spec.Configuration.Service != nil
	allowed := slices.Clone(updatableSpecFields)
	if service {
		allowed = append(allowed, updatableServiceSpecFields...)
	}
	if changed := changedKeys(cur, next, allowed); len(changed) > 0 {
		return Invalid("Failed to update fields %v. Can only update %v.", changed, allowed)
	}
	var curConf, nextConf map[string]json.RawMessage
	if err := json.Unmarshal(cur["configuration"], &curConf); err != nil {
		return fmt.Errorf("read the stored configuration: %w", err)
	}
	if err := json.Unmarshal(next["configuration"], &nextConf); err != nil {
		return fmt.Errorf("read the configuration: %w", err)
	}
	if string(curConf["type"]) != string(nextConf["type"]) {
		return Invalid("Configuration type changed from %s to %s, cannot update", curConf["type"], nextConf["type"])
	}
	allowed = slices.Clone(updatableConfFields)
	if service {
		allowed = append(allowed, updatableServiceConfFields...)
	}
	if changed := changedKeys(curConf, nextConf, allowed); len(changed) > 0 {
		return Invalid("Failed to update fields %v. Can only update %v.", changed, allowed)
	}
	return nil
}

// changedKeys lists the keys whose values differ between a and b and are not
// allowed to, sorted.
func changedKeys(a, b map[string]json.RawMessage, allowed []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []map[string]json.RawMessage{a, b} {
		for k := range m {
			if seen[k] {
				continue
			}
			seen[k] = true
			if !slices.Contains(allowed, k) && !jsonEqual(a[k], b[k]) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// jsonEqual compares two JSON values by meaning (a missing value is null).
// A value that does not decode equals only the same bytes.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if len(a) > 0 && json.Unmarshal(a, &x) != nil || len(b) > 0 && json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return marshal(x) == marshal(y)
}

// update applies spec to an active run in place: the new spec and the next
// deployment number. The runs pipeline then scales the service and replaces
// replicas whose jobs change (rolling update). The run's row is written only
// while no pipeline holds it; a held run is retried for a few seconds.
func (s Runs) update(ctx context.Context, cur *db.Run, spec schemas.RunSpec) (*db.Run, error) {
	if err := checkUpdate(cur.RunSpec, spec); err != nil {
		return nil, err
	}
	next := marshal(spec)
	if next == cur.RunSpec {
		return cur, nil
	}
	secrets, err := (Secrets{s.Env}).Values(ctx, cur.ProjectID)
	if err != nil {
		return nil, err
	}
	if _, err := buildJobSpecs(cur.RunName, &spec, MergedProfile(&spec), secrets); err != nil {
		return nil, err
	}
	r := cur
	for attempt := 0; ; attempt++ {
		upd := *r
		upd.RunSpec, upd.DeploymentNum = next, r.DeploymentNum+1
		upd.Priority = *spec.Configuration.Base().Priority
		RecordOn(&upd.Events, System, fmt.Sprintf("Run updated. Deployment: %d", upd.DeploymentNum))
		ok, err := db.UpdateRunIfFree(ctx, s.DB, &upd, r.Status, s.now(), "run_spec", "deployment_num", "priority")
		if err != nil {
			return nil, fmt.Errorf("update run %s: %w", r.RunName, err)
		}
		if ok {
			s.WakeUp(PipelineRuns)
			return &upd, nil
		}
		if attempt >= 50 {
			return nil, Invalid("Run %s is being processed; apply again", r.RunName)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if r, err = db.GetRun(ctx, s.DB, cur.ID); err != nil {
			return nil, err
		}
		if schemas.RunStatus(r.Status).Finished() || r.Status == string(schemas.RunTerminating) {
			return nil, Invalid("Run %s is stopping; apply again once it has stopped", r.RunName)
		}
	}
}
