package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

// offerSummary is what these tests compare: instance, blocks, availability.
type offerSummary struct {
	Instance string
	Blocks   int
	Avail    schemas.OfferAvailability
}

func summarize(offers []Offer) []offerSummary {
	out := []offerSummary{}
	for _, o := range offers {
		out = append(out, offerSummary{o.InstanceID, o.Blocks, o.InstanceOffer.Availability})
	}
	return out
}

func TestOffersForJob(t *testing.T) {
	gpu8 := host(64, 512, "H100", 8, 80, 2000)
	split8 := withBlocks(cand("s", "f", gpu8), 8, 0)
	half := withBlocks(cand("h", "f", gpu8), 8, 5)
	busy := cand("b", "f", host(8, 32, "", 0, 0, 200))
	busy.Status, busy.BusyBlocks = schemas.InstanceBusy, 1
	pending := cand("p", "f", host(8, 32, "", 0, 0, 200))
	pending.Status = schemas.InstancePending
	cheap := priced(cand("cheap", "f", host(8, 32, "", 0, 0, 200)), 0.5)
	dear := priced(cand("dear", "g", host(8, 32, "", 0, 0, 200)), 2)
	spot := cand("spot", "f", host(8, 32, "", 0, 0, 200))
	spot.Offer.Instance.Resources.Spot = true
	dead := cand("dead", "f", host(8, 32, "", 0, 0, 200))
	dead.Unreachable = true
	term := cand("term", "f", host(8, 32, "", 0, 0, 200))
	term.Status = schemas.InstanceTerminating
	unknownBlocks := withBlocks(cand("u", "f", host(8, 32, "", 0, 0, 200)), 0, 0)
	other := cand("o", "other", host(8, 32, "", 0, 0, 200))
	other.Offer.Backend, other.Offer.Region = "aws", "eu-west-1"
	other.Hostname, other.InternalIP = "gpu-1.example.com", "10.0.0.7"
	imported := cand("imp", "f", host(8, 32, "", 0, 0, 200))
	imported.Imported, imported.FleetProject = true, "team"

	prof := func(f func(*schemas.Profile)) schemas.Profile {
		p := schemas.Profile{Name: "default"}
		f(&p)
		return p
	}
	none := func(*schemas.Profile) {}
	autoSpot := cpuReq()
	autoSpot.Spot = nil
	multi := gpuReq(8)
	multi.Multinode = ptr(true)
	clusterSplit := split8
	clusterSplit.ClusterPlacement = true

	tests := []struct {
		name    string
		req     schemas.Requirements
		profile schemas.Profile
		cands   []Candidate
		want    []offerSummary
	}{
		{"smallest number of blocks that fits", gpuReq(2), prof(none), []Candidate{split8},
			[]offerSummary{{"s", 2, schemas.AvailabilityIdle}}},
		{"not enough free blocks is busy", gpuReq(4), prof(none), []Candidate{half},
			[]offerSummary{{"h", 4, schemas.AvailabilityBusy}}},
		{"available first, then price", cpuReq(), prof(none), []Candidate{busy, dear, cheap},
			[]offerSummary{{"cheap", 1, schemas.AvailabilityIdle}, {"dear", 1, schemas.AvailabilityIdle},
				{"b", 1, schemas.AvailabilityBusy}}},
		{"pending instance shows busy", cpuReq(), prof(none), []Candidate{pending},
			[]offerSummary{{"p", 1, schemas.AvailabilityBusy}}},
		{"unreachable, terminating and unknown blocks are skipped", cpuReq(), prof(none),
			[]Candidate{dead, term, unknownBlocks}, []offerSummary{}},
		{"on-demand requirement skips spot", cpuReq(), prof(none), []Candidate{spot, cheap},
			[]offerSummary{{"cheap", 1, schemas.AvailabilityIdle}}},
		{"profile spot policy fills auto", autoSpot, prof(func(p *schemas.Profile) {
			p.SpotPolicy = ptr(schemas.SpotPolicySpot)
		}), []Candidate{spot, cheap}, []offerSummary{{"spot", 1, schemas.AvailabilityIdle}}},
		{"profile max_price", cpuReq(), prof(func(p *schemas.Profile) { p.MaxPrice = ptr(1.0) }),
			[]Candidate{dear, cheap}, []offerSummary{{"cheap", 1, schemas.AvailabilityIdle}}},
		{"fleets selector", cpuReq(), prof(func(p *schemas.Profile) {
			p.Fleets = []schemas.EntityReference{{Name: "g"}}
		}), []Candidate{cheap, dear}, []offerSummary{{"dear", 1, schemas.AvailabilityIdle}}},
		{"fleet without project excludes imported", cpuReq(), prof(func(p *schemas.Profile) {
			p.Fleets = []schemas.EntityReference{{Name: "f"}}
		}), []Candidate{imported}, []offerSummary{}},
		{"fleet with project selects imported", cpuReq(), prof(func(p *schemas.Profile) {
			p.Fleets = []schemas.EntityReference{{Project: ptr("team"), Name: "f"}}
		}), []Candidate{imported, cheap}, []offerSummary{{"imp", 1, schemas.AvailabilityIdle}}},
		{"instance name selector", cpuReq(), prof(func(p *schemas.Profile) {
			p.Instances = []schemas.InstanceSelector{{Name: ptr("g-dear")}}
		}), []Candidate{cheap, dear}, []offerSummary{{"dear", 1, schemas.AvailabilityIdle}}},
		{"hostname selector matches internal IP", cpuReq(), prof(func(p *schemas.Profile) {
			p.Instances = []schemas.InstanceSelector{{Hostname: ptr("10.0.0.7")}}
		}), []Candidate{cheap, other}, []offerSummary{{"o", 1, schemas.AvailabilityIdle}}},
		{"fleet/instance selector", cpuReq(), prof(func(p *schemas.Profile) {
			p.Instances = []schemas.InstanceSelector{{Fleet: &schemas.EntityReference{Name: "other"}, Instance: ptr(0)}}
		}), []Candidate{cheap, other}, []offerSummary{{"o", 1, schemas.AvailabilityIdle}}},
		{"backends and regions (case-insensitive)", cpuReq(), prof(func(p *schemas.Profile) {
			p.Backends, p.Regions = []string{"aws"}, []string{"EU-WEST-1"}
		}), []Candidate{cheap, other}, []offerSummary{{"o", 1, schemas.AvailabilityIdle}}},
		{"multi-node needs a cluster fleet and whole instances", multi, prof(none),
			[]Candidate{split8, clusterSplit}, []offerSummary{{"s", 8, schemas.AvailabilityIdle}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, summarize(OffersForJob(tt.req, tt.profile, tt.cands)))
		})
	}
}

func TestOffersForJobBlockResources(t *testing.T) {
	c := withBlocks(cand("s", "f", host(64, 512, "H100", 8, 80, 2000)), 8, 2)
	offers := OffersForJob(gpuReq(2), schemas.Profile{}, []Candidate{c})
	require.Len(t, offers, 1)
	got := offers[0].InstanceOffer
	require.Equal(t, 16, got.Instance.Resources.CPUs)
	require.Equal(t, 128*1024, got.Instance.Resources.MemoryMiB)
	require.Len(t, got.Instance.Resources.Gpus, 2)
	require.Equal(t, 2000*1024, got.Instance.Resources.Disk.SizeMiB, "disk is shared, not divided")
	require.Equal(t, 2, got.Blocks)
	require.Equal(t, 8, got.TotalBlocks)
	require.Equal(t, schemas.AvailabilityIdle, got.Availability)
	require.Equal(t, 8, len(c.Offer.Instance.Resources.Gpus), "input untouched")
}
