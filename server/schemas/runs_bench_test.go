package schemas

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRunAnswer is the cost that StoredRunSpec and StoredJobSpec save
// in runs/list and runs/get: answering 100 runs of one job each, from the
// specs as stored, written back as they are (stored) or decoded and
// encoded again (decoded).
func BenchmarkRunAnswer(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("../../testdata/compat/responses", "runs_list.json"))
	if err != nil {
		b.Fatal(err)
	}
	var runs []struct {
		RunSpec json.RawMessage `json:"run_spec"`
		Jobs    []struct {
			JobSpec json.RawMessage `json:"job_spec"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(raw, &runs); err != nil {
		b.Fatal(err)
	}
	type answer struct {
		RunSpec RunSpec   `json:"run_spec"`
		Jobs    []JobSpec `json:"jobs"`
	}
	const n = 100
	b.Run("stored", func(b *testing.B) {
		for b.Loop() {
			out := make([]answer, n)
			for i := range out {
				r := runs[i%len(runs)]
				out[i] = answer{RunSpec: StoredRunSpec(r.RunSpec), Jobs: []JobSpec{StoredJobSpec(r.Jobs[0].JobSpec, 0, 0)}}
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoded", func(b *testing.B) {
		for b.Loop() {
			out := make([]answer, n)
			for i := range out {
				r := runs[i%len(runs)]
				out[i].Jobs = make([]JobSpec, 1)
				if err := json.Unmarshal(r.RunSpec, &out[i].RunSpec); err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(r.Jobs[0].JobSpec, &out[i].Jobs[0]); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
