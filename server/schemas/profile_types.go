package schemas

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// RetryEvent is an event a run can be retried on.
type RetryEvent string

// Retry events.
const (
	RetryEventNoCapacity   RetryEvent = "no-capacity"
	RetryEventInterruption RetryEvent = "interruption"
	RetryEventError        RetryEvent = "error"
)

func (RetryEvent) EnumValues() []string { return []string{"no-capacity", "interruption", "error"} }

// ProfileRetry is the object form of `retry`. A null on_events means all events; a null
// duration means DefaultRetryDuration (see Profile.ResolvedRetry).
type ProfileRetry struct {
	OnEvents []RetryEvent `json:"on_events"`
	Duration *Duration    `json:"duration"`
}

// RetryConfig is the `retry` parameter: a boolean, or a ProfileRetry policy.
type RetryConfig struct {
	Enabled bool          // the boolean form; ignored when Policy is set
	Policy  *ProfileRetry // the object form
}

// MarshalJSON writes a boolean or the policy object.
func (r RetryConfig) MarshalJSON() ([]byte, error) {
	if r.Policy != nil {
		return json.Marshal(r.Policy)
	}
	return json.Marshal(r.Enabled)
}

// UnmarshalJSON accepts a boolean or {on_events?, duration?}.
func (r *RetryConfig) UnmarshalJSON(b []byte) error { return decode.JSON(b, r) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (r *RetryConfig) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, r) }

func (r *RetryConfig) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.MapNode {
		r.Policy = &ProfileRetry{}
		return d.Struct(n, r.Policy)
	}
	b, err := decode.AsBool(n)
	if err != nil {
		return decode.Errorf(n, "invalid retry %s; accepted: true, false or {on_events: [no-capacity, interruption, error], duration: 1h}", n.Describe())
	}
	r.Enabled = b
	return nil
}

func (r RetryConfig) clone() RetryConfig {
	c := r
	if r.Policy != nil {
		c.Policy = &ProfileRetry{OnEvents: cloneSlice(r.Policy.OnEvents), Duration: clonePtr(r.Policy.Duration)}
	}
	return c
}

// UtilizationPolicy stops a run whose GPUs stay below min_gpu_utilization (percent, 0..100)
// for the whole time_window (at least 5m).
type UtilizationPolicy struct {
	MinGPUUtilization int      `json:"min_gpu_utilization" dstack:"required"`
	TimeWindow        Duration `json:"time_window" dstack:"required"`
}

// MinUtilizationTimeWindow is the shortest allowed utilization_policy.time_window.
const MinUtilizationTimeWindow Duration = 5 * 60

func (u UtilizationPolicy) validate() error {
	if u.MinGPUUtilization < 0 || u.MinGPUUtilization > 100 {
		return decode.WithPath("min_gpu_utilization", fmt.Errorf("must be between 0 and 100, got %d", u.MinGPUUtilization))
	}
	if u.TimeWindow < MinUtilizationTimeWindow {
		return decode.WithPath("time_window", fmt.Errorf("minimum time_window is 5m (300s), got %ds", u.TimeWindow))
	}
	return nil
}

// Schedule starts a run at the given UTC times. Input: cron is one crontab expression or a
// list of them. Output: a list.
type Schedule struct {
	Cron []string `json:"cron" dstack:"required"`
}

// UnmarshalJSON accepts {cron: "expr" | ["expr", ...]}.
func (s *Schedule) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (s *Schedule) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

func (s *Schedule) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if cron := n.Get("cron"); cron != nil && cron.Kind == decode.StringNode {
		n = withKey(n, "cron", &decode.Node{Kind: decode.SeqNode, Items: []*decode.Node{cron}, Line: cron.Line})
	}
	return d.Struct(n, s)
}

func (s Schedule) validate() error {
	if len(s.Cron) == 0 {
		return decode.WithPath("cron", fmt.Errorf("at least one cron expression must be specified"))
	}
	for i, c := range s.Cron {
		if err := ValidateCron(c); err != nil {
			return decode.WithPath("cron"+decode.IndexSeg(i), err)
		}
	}
	return nil
}

// InstanceSelector picks a fleet instance: by name ("name" or {name}), by {hostname}, or by
// {fleet, instance} (instance number within the fleet). Exactly one form is set.
type InstanceSelector struct {
	Name     *string
	Hostname *string
	Fleet    *EntityReference
	Instance *int
}

type instanceSelectorWire struct {
	Name     *string          `json:"name,omitempty"`
	Hostname *string          `json:"hostname,omitempty"`
	Fleet    *EntityReference `json:"fleet,omitempty"`
	Instance *int             `json:"instance,omitempty"`
}

const selectorForms = `accepted: "<instance name>", {name}, {hostname} or {fleet, instance}`

// MarshalJSON writes the object form that is set.
func (s InstanceSelector) MarshalJSON() ([]byte, error) {
	return json.Marshal(instanceSelectorWire(s))
}

// UnmarshalJSON accepts every input form listed on InstanceSelector.
func (s *InstanceSelector) UnmarshalJSON(b []byte) error { return decode.JSON(b, s) }

// UnmarshalYAML accepts the same forms as UnmarshalJSON.
func (s *InstanceSelector) UnmarshalYAML(y *yaml.Node) error { return decode.YAML(y, s) }

func (s *InstanceSelector) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.StringNode:
		name := n.Str
		*s = InstanceSelector{Name: &name}
		return nil
	case decode.MapNode:
		var w instanceSelectorWire
		if err := d.Struct(n, &w); err != nil {
			return err
		}
		*s = InstanceSelector(w)
		if !s.wellFormed() {
			return decode.Errorf(n, "invalid instance selector; %s", selectorForms)
		}
		return nil
	}
	return decode.Errorf(n, "invalid instance selector %s; %s", n.Describe(), selectorForms)
}

func (s InstanceSelector) wellFormed() bool {
	switch {
	case s.Name != nil:
		return s.Hostname == nil && s.Fleet == nil && s.Instance == nil
	case s.Hostname != nil:
		return s.Fleet == nil && s.Instance == nil
	}
	return s.Fleet != nil && s.Instance != nil
}

func (s InstanceSelector) validate() error {
	switch {
	case !s.wellFormed():
		return fmt.Errorf("invalid instance selector; %s", selectorForms)
	case s.Name != nil && *s.Name == "":
		return decode.WithPath("name", fmt.Errorf("must not be empty"))
	case s.Hostname != nil && *s.Hostname == "":
		return decode.WithPath("hostname", fmt.Errorf("must not be empty"))
	case s.Instance != nil && *s.Instance < 0:
		return decode.WithPath("instance", fmt.Errorf("must be >= 0, got %d", *s.Instance))
	}
	return nil
}

func (s InstanceSelector) clone() InstanceSelector {
	c := InstanceSelector{Name: clonePtr(s.Name), Hostname: clonePtr(s.Hostname), Instance: clonePtr(s.Instance)}
	if s.Fleet != nil {
		c.Fleet = &EntityReference{Project: clonePtr(s.Fleet.Project), Name: s.Fleet.Name}
	}
	return c
}

// BackendProfileOptions are backend-specific offer filters. Only vastai has options today:
// offer_order (score|price), min_reliability (0..1), min_score (>= 0).
type BackendProfileOptions struct {
	Type           string   `json:"type"`
	OfferOrder     *string  `json:"offer_order"`
	MinReliability *float64 `json:"min_reliability"`
	MinScore       *int     `json:"min_score"`
}

func (o *BackendProfileOptions) SetDefaults() { o.Type = "vastai" }

func (o BackendProfileOptions) validate() error {
	switch {
	case o.Type != "vastai":
		return decode.WithPath("type", fmt.Errorf("invalid backend %q; accepted: vastai", o.Type))
	case o.OfferOrder != nil && *o.OfferOrder != "score" && *o.OfferOrder != "price":
		return decode.WithPath("offer_order", fmt.Errorf("invalid value %q; accepted: score, price", *o.OfferOrder))
	case o.MinReliability != nil && (*o.MinReliability < 0 || *o.MinReliability > 1):
		return decode.WithPath("min_reliability", fmt.Errorf("must be between 0 and 1"))
	case o.MinScore != nil && *o.MinScore < 0:
		return decode.WithPath("min_score", fmt.Errorf("must be >= 0"))
	}
	return nil
}

func (o BackendProfileOptions) clone() BackendProfileOptions {
	return BackendProfileOptions{Type: o.Type, OfferOrder: clonePtr(o.OfferOrder),
		MinReliability: clonePtr(o.MinReliability), MinScore: clonePtr(o.MinScore)}
}
