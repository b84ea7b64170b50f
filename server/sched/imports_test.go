package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// TestAssignImportedFleets: fleets another project exports are candidates
// like the project's own, but a `fleets:` reference selects them only with
// their project; blocks are shared with the owner's jobs.
func TestAssignImportedFleets(t *testing.T) {
	imported := func(c Candidate) Candidate {
		c.Imported, c.FleetProject = true, "exporter"
		return c
	}
	shared := imported(cand("imp", "shared", host(8, 32, "", 0, 0, 200)))
	sharedSplit := imported(withBlocks(cand("imp2", "shared", host(8, 32, "H100", 8, 80, 2000)), 8, 6))
	own := priced(cand("own", "mine", host(8, 32, "", 0, 0, 200)), 1)
	inFleets := func(j JobReq, refs ...schemas.EntityReference) JobReq {
		j.Profile.Fleets = refs
		return j
	}
	ref := func(project, name string) schemas.EntityReference {
		r := schemas.EntityReference{Name: name}
		if project != "" {
			r.Project = &project
		}
		return r
	}

	tests := []struct {
		name  string
		jobs  []JobReq
		cands []Candidate
		want  map[string]placement
	}{
		{"an imported fleet takes jobs like an own one",
			[]JobReq{job("a", "r1", cpuReq())}, []Candidate{shared},
			map[string]placement{"a": assigned("imp", 1)}},
		{"the cheaper of own and imported",
			[]JobReq{job("a", "r1", cpuReq())}, []Candidate{own, shared},
			map[string]placement{"a": assigned("imp", 1)}},
		{"a fleet named without its project is an own fleet",
			[]JobReq{inFleets(job("a", "r1", cpuReq()), ref("", "shared"))}, []Candidate{shared},
			map[string]placement{"a": noCapacity(CauseNoFleets)}},
		{"a fleet named with its project selects the imported one",
			[]JobReq{inFleets(job("a", "r1", cpuReq()), ref("exporter", "shared"))}, []Candidate{own, shared},
			map[string]placement{"a": assigned("imp", 1)}},
		{"another project's name does not match",
			[]JobReq{inFleets(job("a", "r1", cpuReq()), ref("other", "shared"))}, []Candidate{shared},
			map[string]placement{"a": noCapacity(CauseNoFleets)}},
		{"blocks the owner's jobs hold are not double-booked",
			[]JobReq{job("a", "r1", gpuReq(2)), job("b", "r2", gpuReq(2))}, []Candidate{sharedSplit},
			map[string]placement{"a": assigned("imp2", 2), "b": noCapacity(CauseBusy)}},
		{"without the export there is no fleet",
			[]JobReq{job("a", "r1", cpuReq())}, nil,
			map[string]placement{"a": noCapacity(CauseNoFleets)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, placements(Assign(tt.jobs, tt.cands)))
		})
	}
}
