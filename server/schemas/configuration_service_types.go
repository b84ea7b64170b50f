package schemas

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// ServiceGateway is a service's `gateway`: false (no gateway), true (the default gateway), or
// a reference to a gateway ("name", "project/name" or {project, name}).
type ServiceGateway struct {
	Enabled bool             // the boolean form; ignored when Ref is set
	Ref     *EntityReference // the reference form
}

// MarshalJSON writes a boolean or {project, name}.
func (g ServiceGateway) MarshalJSON() ([]byte, error) {
	if g.Ref != nil {
		return json.Marshal(g.Ref)
	}
	return json.Marshal(g.Enabled)
}

func (g *ServiceGateway) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.BoolNode:
		g.Enabled = n.Bool
		return nil
	case decode.StringNode, decode.MapNode:
		g.Ref = &EntityReference{}
		return g.Ref.UnmarshalNode(d, n)
	}
	return decode.Errorf(n, "invalid gateway %s; accepted: true, false, \"<name>\", \"<project>/<name>\" or {project, name}", n.Describe())
}

// ServiceHTTPS is a service's `https`: true, false or "auto" (decide from the gateway).
type ServiceHTTPS struct {
	Auto    bool
	Enabled bool // when not Auto
}

// MarshalJSON writes "auto" or a boolean.
func (h ServiceHTTPS) MarshalJSON() ([]byte, error) {
	if h.Auto {
		return []byte(`"auto"`), nil
	}
	return json.Marshal(h.Enabled)
}

func (h *ServiceHTTPS) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.StringNode && n.Str == "auto" {
		h.Auto = true
		return nil
	}
	b, err := decode.AsBool(n)
	if err != nil {
		return decode.Errorf(n, "invalid https %s; accepted: true, false or \"auto\"", n.Describe())
	}
	h.Enabled = b
	return nil
}

// ServiceModel maps the service to dstack's OpenAI-compatible endpoint. Input: a model name
// (→ {type: chat, name, format: openai, prefix: /v1}) or an object; format is "openai"
// (with prefix) or "tgi" (with chat_template, eos_token).
type ServiceModel struct {
	Type         string  `json:"type"`
	Name         string  `json:"name" dstack:"required"`
	Format       string  `json:"format" dstack:"required"`
	Prefix       *string `json:"prefix,omitempty"`        // openai only; default "/v1"
	ChatTemplate *string `json:"chat_template,omitempty"` // tgi only
	EosToken     *string `json:"eos_token,omitempty"`     // tgi only
}

func (m *ServiceModel) SetDefaults() { m.Type = "chat" }

// MarshalJSON writes the fields of the model's format.
func (m ServiceModel) MarshalJSON() ([]byte, error) {
	if m.Format == "tgi" {
		return json.Marshal(struct {
			Type         string  `json:"type"`
			Name         string  `json:"name"`
			Format       string  `json:"format"`
			ChatTemplate *string `json:"chat_template"`
			EosToken     *string `json:"eos_token"`
		}{m.Type, m.Name, m.Format, m.ChatTemplate, m.EosToken})
	}
	prefix := "/v1"
	if m.Prefix != nil {
		prefix = *m.Prefix
	}
	return json.Marshal(struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Format string `json:"format"`
		Prefix string `json:"prefix"`
	}{m.Type, m.Name, m.Format, prefix})
}

func (m *ServiceModel) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.StringNode {
		prefix := "/v1"
		*m = ServiceModel{Type: "chat", Name: n.Str, Format: "openai", Prefix: &prefix}
		return nil
	}
	if err := d.Struct(n, m); err != nil {
		return err
	}
	switch {
	case m.Type != "chat":
		return decode.WithPath("type", decode.Errorf(n.Get("type"), "invalid model type %q; accepted: chat", m.Type))
	case m.Format != "openai" && m.Format != "tgi":
		return decode.WithPath("format", decode.Errorf(n.Get("format"), "invalid model format %q; accepted: openai, tgi", m.Format))
	case m.Format == "openai" && (m.ChatTemplate != nil || m.EosToken != nil):
		return decode.Errorf(n, "chat_template and eos_token are only accepted with format: tgi")
	case m.Format == "tgi" && m.Prefix != nil:
		return decode.WithPath("prefix", decode.Errorf(n.Get("prefix"), "prefix is only accepted with format: openai"))
	}
	if m.Format == "openai" && m.Prefix == nil {
		prefix := "/v1"
		m.Prefix = &prefix
	}
	return nil
}

// ScalingSpec is a service's autoscaling rule: keep `metric` (rps) around `target` per
// replica, measured over `window` (30s, 60s or 300s; null → 60s).
type ScalingSpec struct {
	Metric         string    `json:"metric" dstack:"required"`
	Target         float64   `json:"target" dstack:"required"`
	Window         *Duration `json:"window"`
	ScaleUpDelay   Duration  `json:"scale_up_delay"`
	ScaleDownDelay Duration  `json:"scale_down_delay"`
}

var scalingWindows = []Duration{30, 60, 300}

func (s *ScalingSpec) SetDefaults() { s.ScaleUpDelay, s.ScaleDownDelay = 300, 600 }

func (s ScalingSpec) validate() error {
	switch {
	case s.Metric != "rps":
		return decode.WithPath("metric", fmt.Errorf("invalid metric %q; accepted: rps", s.Metric))
	case s.Target <= 0:
		return decode.WithPath("target", fmt.Errorf("must be greater than 0"))
	case s.Window != nil && !slices.Contains(scalingWindows, *s.Window):
		return decode.WithPath("window", fmt.Errorf("invalid window %ds; accepted: 30s, 60s, 300s", *s.Window))
	}
	return nil
}

// RouterConfig makes a replica group run an in-service router (type sglang or dynamo).
type RouterConfig struct {
	Type string `json:"type"`
}

func (r *RouterConfig) SetDefaults() { r.Type = "sglang" }

// ReplicaGroup is one group of a heterogeneous service. Replicas is written as "count"
// (input also accepts "replicas"), placed last as upstream's serializer does.
type ReplicaGroup struct {
	Name        *string        `json:"name"`
	Scaling     *ScalingSpec   `json:"scaling"`
	Resources   ResourcesSpec  `json:"resources"`
	SpotPolicy  *SpotPolicy    `json:"spot_policy"`
	Reservation *string        `json:"reservation"`
	Commands    []string       `json:"commands"`
	Image       *string        `json:"image"`
	Python      *PythonVersion `json:"python"`
	Nvcc        *bool          `json:"nvcc"`
	Docker      *bool          `json:"docker"`
	Privileged  *bool          `json:"privileged"`
	Router      *RouterConfig  `json:"router"`
	Replicas    IntRange       `json:"count" dstack:"required"`
}

func (g *ReplicaGroup) SetDefaults() {
	g.Resources = DefaultResourcesSpec()
	g.Commands = []string{}
}

func (g *ReplicaGroup) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.MapNode && n.Get("replicas") != nil {
		n = renameKey(dropKey(n, "count"), "replicas", "count")
	}
	if err := d.Struct(n, g); err != nil {
		return err
	}
	normalizeReplicaRange(&g.Replicas)
	return nil
}

// ServiceReplicas is a service's `replicas`: a count range (homogeneous service), or the
// replica groups (heterogeneous; input key `groups`, or a list under `replicas` as older
// clients send; output is always the list under `replicas`). Zero value: null.
type ServiceReplicas struct {
	Range  *IntRange
	Groups []ReplicaGroup
}

// MarshalJSON writes the groups list, the range, or null.
func (r ServiceReplicas) MarshalJSON() ([]byte, error) {
	switch {
	case r.Groups != nil:
		return json.Marshal(r.Groups)
	case r.Range != nil:
		return json.Marshal(r.Range)
	}
	return []byte("null"), nil
}

func (r *ServiceReplicas) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch n.Kind {
	case decode.NullNode:
		return nil
	case decode.SeqNode:
		r.Groups = []ReplicaGroup{}
		return d.Into(n, &r.Groups)
	}
	r.Range = &IntRange{}
	if err := r.Range.UnmarshalNode(d, n); err != nil {
		return err
	}
	normalizeReplicaRange(r.Range)
	return nil
}

// normalizeReplicaRange sets an open lower bound to 0, as upstream does for replica counts.
func normalizeReplicaRange(r *IntRange) {
	if r.Min == nil && r.Max != nil {
		zero := 0
		r.Min = &zero
	}
}

func validateReplicaRange(r IntRange) error {
	if r.Max == nil {
		return fmt.Errorf("the maximum number of replicas is required, e.g. 0..4")
	}
	if r.Min != nil && *r.Min < 0 {
		return fmt.Errorf("the minimum number of replicas must be >= 0")
	}
	return r.Validate()
}

// renameKey returns a copy of mapping n with key from renamed to to.
func renameKey(n *decode.Node, from, to string) *decode.Node {
	c := *n
	c.Keys = append([]string(nil), n.Keys...)
	for i, k := range c.Keys {
		if k == from {
			c.Keys[i] = to
		}
	}
	return &c
}

// dropKey returns a copy of mapping n without key.
func dropKey(n *decode.Node, key string) *decode.Node {
	c := &decode.Node{Kind: decode.MapNode, Line: n.Line}
	for i, k := range n.Keys {
		if k != key {
			c.SetKey(k, decode.KeyLine(n, i), n.Vals[i])
		}
	}
	return c
}
