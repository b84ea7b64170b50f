package schemas

import "encoding/json"

// Listings of runs for display (dstack ps) read little of each run's specs:
// the run's name, each job's numbers and name. DecodeStoredRun decodes a run
// with its specs kept as the JSON they came in (see StoredRunSpec and
// StoredJobSpec), which they are encoded back to unchanged; it skips nine
// tenths of the decoding work of a page of runs.

// storedRun shadows Run's specs with raw JSON (encoding/json prefers the
// shallower field of a name).
type storedRun struct {
	Run
	RunSpec json.RawMessage `json:"run_spec"`
	Jobs    []storedJob     `json:"jobs"`
}

type storedJob struct {
	Job
	JobSpec json.RawMessage `json:"job_spec"`
}

// specIdentity is what a stored spec has decoded.
type specIdentity struct {
	RunName    *string `json:"run_name"`
	ReplicaNum int     `json:"replica_num"`
	JobNum     int     `json:"job_num"`
	JobName    string  `json:"job_name"`
}

// identityOf reads the identity fields of a spec without decoding the rest.
func identityOf(raw []byte) (specIdentity, error) {
	var id specIdentity
	vals, err := JSONObjectFields(raw, "run_name", "replica_num", "job_num", "job_name")
	if err != nil {
		return id, err
	}
	for i, dst := range []any{&id.RunName, &id.ReplicaNum, &id.JobNum, &id.JobName} {
		if vals[i] != nil {
			if err := json.Unmarshal(vals[i], dst); err != nil {
				return id, err
			}
		}
	}
	return id, nil
}

// DecodeStoredRun decodes one run of a runs/list or runs/get answer with
// its specs stored: RunSpec.RunName and each JobSpec's ReplicaNum, JobNum
// and JobName are set, the other spec fields are not.
func DecodeStoredRun(data []byte, r *Run) error {
	var s storedRun
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*r = s.Run
	r.RunSpec = RunSpec{}
	if len(s.RunSpec) > 0 && string(s.RunSpec) != "null" {
		id, err := identityOf(s.RunSpec)
		if err != nil {
			return err
		}
		r.RunSpec = RunSpec{RunName: id.RunName, stored: s.RunSpec}
	}
	if s.Jobs == nil {
		r.Jobs = nil
		return nil
	}
	r.Jobs = make([]Job, len(s.Jobs))
	for i, j := range s.Jobs {
		r.Jobs[i] = j.Job
		r.Jobs[i].JobSpec = JobSpec{}
		if len(j.JobSpec) > 0 && string(j.JobSpec) != "null" {
			id, err := identityOf(j.JobSpec)
			if err != nil {
				return err
			}
			r.Jobs[i].JobSpec = JobSpec{ReplicaNum: id.ReplicaNum, JobNum: id.JobNum, JobName: id.JobName, stored: j.JobSpec}
		}
	}
	return nil
}
