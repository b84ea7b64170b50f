package schemas

import (
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// SpotPolicy chooses spot or on-demand instances.
type SpotPolicy string

// Spot policies.
const (
	SpotPolicySpot     SpotPolicy = "spot"
	SpotPolicyOnDemand SpotPolicy = "on-demand"
	SpotPolicyAuto     SpotPolicy = "auto"
)

func (SpotPolicy) EnumValues() []string { return []string{"spot", "on-demand", "auto"} }

// CreationPolicy says whether a run may provision new instances or only reuse fleet ones.
type CreationPolicy string

// Creation policies.
const (
	CreationPolicyReuse         CreationPolicy = "reuse"
	CreationPolicyReuseOrCreate CreationPolicy = "reuse-or-create"
)

func (CreationPolicy) EnumValues() []string { return []string{"reuse", "reuse-or-create"} }

// StartupOrder is the order in which a multi-node run's master and workers start.
type StartupOrder string

// Startup orders.
const (
	StartupOrderAny          StartupOrder = "any"
	StartupOrderMasterFirst  StartupOrder = "master-first"
	StartupOrderWorkersFirst StartupOrder = "workers-first"
)

func (StartupOrder) EnumValues() []string { return []string{"any", "master-first", "workers-first"} }

// StopCriteria says when a multi-node run is finished.
type StopCriteria string

// Stop criteria.
const (
	StopCriteriaAllDone    StopCriteria = "all-done"
	StopCriteriaMasterDone StopCriteria = "master-done"
)

func (StopCriteria) EnumValues() []string { return []string{"all-done", "master-done"} }

// Server-side profile defaults (seconds).
const (
	DefaultRetryDuration     Duration = 3600
	DefaultStopDuration      Duration = 300
	DefaultRunIdleDuration   Duration = 5 * 60
	DefaultFleetIdleDuration Duration = 72 * 60 * 60
)

// ProfileParams are the provisioning parameters shared by run configurations (at top level),
// fleet configurations (a subset) and profiles. Every field is optional; null means "not
// set here" (see MergeProfile).
type ProfileParams struct {
	Backends          []string                `json:"backends"` // BackendType values, e.g. "aws", "remote"
	Regions           []string                `json:"regions"`
	AvailabilityZones []string                `json:"availability_zones"`
	InstanceTypes     []string                `json:"instance_types"`
	Reservation       *string                 `json:"reservation"`
	SpotPolicy        *SpotPolicy             `json:"spot_policy"`
	Retry             *RetryConfig            `json:"retry"`
	MaxDuration       OffableDuration         `json:"max_duration"`
	StopDuration      OffableDuration         `json:"stop_duration"`
	MaxPrice          *float64                `json:"max_price"`
	CreationPolicy    *CreationPolicy         `json:"creation_policy"`
	IdleDuration      IdleDuration            `json:"idle_duration"`
	UtilizationPolicy *UtilizationPolicy      `json:"utilization_policy"`
	StartupOrder      *StartupOrder           `json:"startup_order"`
	StopCriteria      *StopCriteria           `json:"stop_criteria"`
	Schedule          *Schedule               `json:"schedule"`
	Fleets            []EntityReference       `json:"fleets"`
	Instances         []InstanceSelector      `json:"instances"`
	Tags              map[string]string       `json:"tags"`
	BackendOptions    []BackendProfileOptions `json:"backend_options"`
}

// Profile is a named set of ProfileParams (from .dstack/profiles.yml). The CLI always sends
// one with a run; without a profiles file it is {"name": "default", ...all null}.
type Profile struct {
	ProfileParams
	Name    string `json:"name"`
	Default bool   `json:"default"`
}

// UnmarshalJSON decodes a profile leniently (unknown fields ignored).
func (p *Profile) UnmarshalJSON(b []byte) error { return decode.JSON(b, p) }

// UnmarshalYAML decodes a profile strictly (unknown keys are errors).
func (p *Profile) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, p) }

// Validate checks the profile's parameters.
func (p Profile) Validate() error { return p.ProfileParams.validate() }

// MergeProfile returns a deep copy of profile (nil: {"name": "default"}) in which every
// parameter that conf sets (non-null) replaces the profile's. This is upstream's
// merged_profile before the run/fleet specific defaults (see MergeRunProfile and
// MergeFleetProfile).
func MergeProfile(profile *Profile, conf ProfileParams) Profile {
	var out Profile
	if profile == nil {
		out.Name = "default"
	} else {
		out = *profile
		out.ProfileParams = profile.ProfileParams.Clone()
	}
	c := conf.Clone()
	o := &out.ProfileParams
	setIf(&o.Backends, c.Backends, c.Backends != nil)
	setIf(&o.Regions, c.Regions, c.Regions != nil)
	setIf(&o.AvailabilityZones, c.AvailabilityZones, c.AvailabilityZones != nil)
	setIf(&o.InstanceTypes, c.InstanceTypes, c.InstanceTypes != nil)
	setIf(&o.Reservation, c.Reservation, c.Reservation != nil)
	setIf(&o.SpotPolicy, c.SpotPolicy, c.SpotPolicy != nil)
	setIf(&o.Retry, c.Retry, c.Retry != nil)
	setIf(&o.MaxDuration, c.MaxDuration, c.MaxDuration.Set)
	setIf(&o.StopDuration, c.StopDuration, c.StopDuration.Set)
	setIf(&o.MaxPrice, c.MaxPrice, c.MaxPrice != nil)
	setIf(&o.CreationPolicy, c.CreationPolicy, c.CreationPolicy != nil)
	setIf(&o.IdleDuration, c.IdleDuration, c.IdleDuration.Set)
	setIf(&o.UtilizationPolicy, c.UtilizationPolicy, c.UtilizationPolicy != nil)
	setIf(&o.StartupOrder, c.StartupOrder, c.StartupOrder != nil)
	setIf(&o.StopCriteria, c.StopCriteria, c.StopCriteria != nil)
	setIf(&o.Schedule, c.Schedule, c.Schedule != nil)
	setIf(&o.Fleets, c.Fleets, c.Fleets != nil)
	setIf(&o.Instances, c.Instances, c.Instances != nil)
	setIf(&o.Tags, c.Tags, c.Tags != nil)
	setIf(&o.BackendOptions, c.BackendOptions, c.BackendOptions != nil)
	return out
}

// MergeRunProfile is a run's merged_profile: MergeProfile, then creation_policy defaults to
// reuse-or-create.
func MergeRunProfile(profile *Profile, conf ProfileParams) Profile {
	out := MergeProfile(profile, conf)
	if out.CreationPolicy == nil {
		p := CreationPolicyReuseOrCreate
		out.CreationPolicy = &p
	}
	return out
}

// MergeFleetProfile is a fleet's merged_profile: MergeProfile with the fleet configuration's
// profile parameters, then spot_policy defaults to on-demand and retry to false.
func MergeFleetProfile(profile Profile, conf FleetConfiguration) Profile {
	out := MergeProfile(&profile, conf.ProfileParams())
	if out.SpotPolicy == nil {
		p := SpotPolicyOnDemand
		out.SpotPolicy = &p
	}
	if out.Retry == nil {
		out.Retry = &RetryConfig{}
	}
	return out
}

func setIf[T any](dst *T, v T, ok bool) {
	if ok {
		*dst = v
	}
}

// Clone returns a deep copy (slices, maps and pointed-to values are copied).
func (p ProfileParams) Clone() ProfileParams {
	c := p
	c.Backends = cloneSlice(p.Backends)
	c.Regions = cloneSlice(p.Regions)
	c.AvailabilityZones = cloneSlice(p.AvailabilityZones)
	c.InstanceTypes = cloneSlice(p.InstanceTypes)
	c.Reservation = clonePtr(p.Reservation)
	c.SpotPolicy = clonePtr(p.SpotPolicy)
	if p.Retry != nil {
		r := p.Retry.clone()
		c.Retry = &r
	}
	c.MaxPrice = clonePtr(p.MaxPrice)
	c.CreationPolicy = clonePtr(p.CreationPolicy)
	c.UtilizationPolicy = clonePtr(p.UtilizationPolicy)
	c.StartupOrder = clonePtr(p.StartupOrder)
	c.StopCriteria = clonePtr(p.StopCriteria)
	if p.Schedule != nil {
		c.Schedule = &Schedule{Cron: cloneSlice(p.Schedule.Cron)}
	}
	if p.Fleets != nil {
		c.Fleets = make([]EntityReference, len(p.Fleets))
		for i, f := range p.Fleets {
			c.Fleets[i] = EntityReference{Project: clonePtr(f.Project), Name: f.Name}
		}
	}
	if p.Instances != nil {
		c.Instances = make([]InstanceSelector, len(p.Instances))
		for i, s := range p.Instances {
			c.Instances[i] = s.clone()
		}
	}
	if p.Tags != nil {
		c.Tags = make(map[string]string, len(p.Tags))
		for k, v := range p.Tags {
			c.Tags[k] = v
		}
	}
	if p.BackendOptions != nil {
		c.BackendOptions = make([]BackendProfileOptions, len(p.BackendOptions))
		for i, o := range p.BackendOptions {
			c.BackendOptions[i] = o.clone()
		}
	}
	return c
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T{}, s...)
}
