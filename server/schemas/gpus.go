package schemas

// GPU grouping (gpus/list): the GPUs of a run spec's offers, aggregated by
// GPU model and optionally by backend, region and count.

// Group-by fields of ListGpusRequest ("gpu" is implied and not sent).
const (
	GpuGroupByBackend = "backend"
	GpuGroupByRegion  = "region"
	GpuGroupByCount   = "count"
)

// ListGpusRequest is the body of gpus/list.
type ListGpusRequest struct {
	RunSpec              RunSpec  `json:"run_spec"`
	GroupBy              []string `json:"group_by"`
	FullOffers           bool     `json:"full_offers"`
	UnallocatedResources bool     `json:"unallocated_resources"`
}

// ListGpusResponse is the answer of gpus/list.
type ListGpusResponse struct {
	Gpus []GpuGroup `json:"gpus"`
}

// GpuCountRange is the range of GPU counts of a group's offers.
type GpuCountRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// GpuPriceRange is the range of hourly prices per GPU of a group's offers.
type GpuPriceRange struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Spot kinds of a GpuGroup.
const (
	GpuSpot     = "spot"
	GpuOnDemand = "on-demand"
)

// GpuGroup is one row of gpus/list: a GPU model (name, memory, vendor) with
// what its offers have in common. Backends and Regions, or Backend and
// Region, are set depending on the grouping; the others are left out (the
// answer omits null fields).
type GpuGroup struct {
	Name         string              `json:"name"`
	MemoryMiB    int                 `json:"memory_mib"`
	Vendor       string              `json:"vendor"`
	Availability []OfferAvailability `json:"availability"`
	Spot         []string            `json:"spot"`
	Count        GpuCountRange       `json:"count"`
	Price        GpuPriceRange       `json:"price"`
	Backends     []string            `json:"backends,omitempty"`
	Backend      string              `json:"backend,omitempty"`
	Regions      []string            `json:"regions,omitempty"`
	Region       string              `json:"region,omitempty"`
}

// Available reports whether an offer with this availability can be used
// now (upstream's InstanceAvailability.is_available).
func (a OfferAvailability) Available() bool {
	return a == AvailabilityUnknown || a == AvailabilityAvailable || a == AvailabilityIdle || a == ""
}
