package services

import (
	"encoding/json"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Probe defaults, as upstream's.
const (
	defaultProbeURL        = "/"
	defaultProbeMethod     = "get"
	defaultProbeTimeout    = 10
	defaultProbeInterval   = 15
	defaultProbeReadyAfter = 1
	modelProbeTimeout      = 30
)

// probeSpecs resolves a service's probes into the job spec's: every field
// set. A service that leaves `probes` unset gets, as upstream, one probe of
// its OpenAI model (a one-token chat completion) when it publishes one.
func probeSpecs(conf *schemas.ServiceConfiguration) []schemas.ProbeConfig {
	out := []schemas.ProbeConfig{}
	if conf == nil {
		return out
	}
	if conf.Probes == nil {
		if m := conf.Model; m != nil && m.Format == "openai" {
			out = append(out, modelProbe(m))
		}
		return out
	}
	for _, c := range conf.Probes {
		p := schemas.ProbeConfig{Type: c.Type, URL: c.URL, Method: c.Method, Headers: c.Headers, Body: c.Body,
			Timeout: c.Timeout, Interval: c.Interval, ReadyAfter: c.ReadyAfter, UntilReady: c.UntilReady}
		if p.URL == nil {
			p.URL = ptr(defaultProbeURL)
		}
		if p.Method == nil {
			p.Method = ptr(defaultProbeMethod)
		}
		if p.Headers == nil {
			p.Headers = []schemas.HTTPHeaderSpec{}
		}
		if p.Timeout == nil {
			p.Timeout = ptr(schemas.Duration(defaultProbeTimeout))
		}
		if p.Interval == nil {
			p.Interval = ptr(schemas.Duration(defaultProbeInterval))
		}
		if p.ReadyAfter == nil {
			p.ReadyAfter = ptr(defaultProbeReadyAfter)
		}
		if p.UntilReady == nil {
			p.UntilReady = ptr(false)
		}
		out = append(out, p)
	}
	return out
}

// modelProbe asks the model for one token, as upstream's default probe.
func modelProbe(m *schemas.ServiceModel) schemas.ProbeConfig {
	prefix := "/v1"
	if m.Prefix != nil {
		prefix = *m.Prefix
	}
	body, _ := json.Marshal(map[string]any{"model": m.Name,
		"messages": []map[string]string{{"role": "user", "content": "hi"}}, "max_tokens": 1})
	return schemas.ProbeConfig{Type: "http", URL: ptr(strings.TrimRight(prefix, "/") + "/chat/completions"),
		Method: ptr("post"), Headers: []schemas.HTTPHeaderSpec{{Name: "Content-Type", Value: "application/json"}},
		Body: ptr(string(body)), Timeout: ptr(schemas.Duration(modelProbeTimeout)),
		Interval: ptr(schemas.Duration(defaultProbeInterval)), ReadyAfter: ptr(defaultProbeReadyAfter), UntilReady: ptr(false)}
}

// ProbeReadyAfter lists the ready_after of each of a job spec's probes.
func ProbeReadyAfter(spec *schemas.JobSpec) []int {
	out := make([]int, len(spec.Probes))
	for i, p := range spec.Probes {
		out[i] = defaultProbeReadyAfter
		if p.ReadyAfter != nil {
			out[i] = *p.ReadyAfter
		}
	}
	return out
}
