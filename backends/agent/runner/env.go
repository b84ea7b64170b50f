package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

var shellIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// jobEnvironment returns the environment of the job's process: the runner's
// own environment, the DSTACK_* variables, the secrets and the job spec's env
// (in increasing precedence), then HOME.
func (s *Server) jobEnvironment(job *schemas.SubmitBody, env *jobEnv, repoDir string) map[string]string {
	ci := job.ClusterInfo
	spec := job.JobSpec
	gpusNum := 0
	for _, n := range ci.GPUsPerNode {
		gpusNum += n
	}
	if len(ci.GPUsPerNode) == 0 {
		gpusNum = spec.JobsPerReplica * ci.GPUsPerJob
	}
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	dstack := map[string]string{
		"DSTACK_RUN_ID":         job.Run.ID,
		"DSTACK_JOB_ID":         job.JobSubmission.ID,
		"DSTACK_RUN_NAME":       job.Run.RunSpec.RunName,
		"DSTACK_REPO_ID":        job.Run.RunSpec.RepoID,
		"DSTACK_REPO_DIR":       repoDir,
		"DSTACK_WORKING_DIR":    env.WorkDir,
		"DSTACK_NODES_IPS":      strings.Join(ci.JobIPs, "\n"),
		"DSTACK_MASTER_NODE_IP": ci.MasterJobIP,
		"DSTACK_NODE_RANK":      strconv.Itoa(spec.JobNum),
		"DSTACK_NODES_NUM":      strconv.Itoa(spec.JobsPerReplica),
		"DSTACK_GPUS_PER_NODE":  strconv.Itoa(ci.GPUsPerJob),
		"DSTACK_GPUS_NUM":       strconv.Itoa(gpusNum),
		"DSTACK_MPI_HOSTFILE":   s.mpiHostfilePath(),
	}
	for _, src := range []map[string]string{dstack, job.Secrets, spec.Env} {
		for k, v := range src {
			vars[k] = v
		}
	}
	for k := range vars {
		if strings.HasPrefix(k, "BASH_FUNC_") {
			delete(vars, k) // exported bash functions must not leak into the job
		}
	}
	vars["HOME"] = env.HomeDir
	return vars
}

func renderEnv(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (s *Server) mpiHostfilePath() string {
	return filepath.Join(s.cfg.DstackDir, "mpi", "hostfile")
}

// writeMPIHostfile writes "<ip> slots=<gpus>" per node (just "<ip>" for CPU
// nodes); it stays empty when some node has no internal IP.
func (s *Server) writeMPIHostfile(ci schemas.ClusterInfo) error {
	p := s.mpiHostfilePath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create MPI hostfile dir: %w", err)
	}
	var b strings.Builder
	complete := true
	for _, ip := range ci.JobIPs {
		complete = complete && ip != ""
	}
	for i, ip := range ci.JobIPs {
		if !complete {
			break
		}
		slots := ci.GPUsPerJob
		if len(ci.GPUsPerNode) == len(ci.JobIPs) {
			slots = ci.GPUsPerNode[i]
		}
		if slots == 0 {
			fmt.Fprintf(&b, "%s\n", ip)
		} else {
			fmt.Fprintf(&b, "%s slots=%d\n", ip, slots)
		}
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write MPI hostfile: %w", err)
	}
	return nil
}

// writeProfile writes <dstack-dir>/profile exporting the job environment, for
// SSH sessions into the container to source.
func (s *Server) writeProfile(vars map[string]string) error {
	var b strings.Builder
	for _, kv := range renderEnv(vars) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "HOSTNAME", "USER", "HOME", "SHELL", "SHLVL", "PWD", "_":
			continue
		}
		if shellIdent.MatchString(k) {
			fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(v, `'`, `'"'"'`))
		}
	}
	b.WriteString("cd \"$DSTACK_WORKING_DIR\"\n")
	if err := os.WriteFile(filepath.Join(s.cfg.DstackDir, "profile"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}
