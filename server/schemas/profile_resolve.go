package schemas

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// profileBackendTypes are the backend type strings `backends` accepts ("remote" = SSH fleets).
var profileBackendTypes = []string{
	"amddevcloud", "aws", "azure", "cloudrift", "crusoe", "cudo", "datacrunch", "digitalocean",
	"dstack", "gcp", "hotaisle", "jarvislabs", "kubernetes", "lambda", "remote", "nebius", "oci",
	"runpod", "tensordock", "vastai", "verda", "vultr", "slurm",
}

var (
	tagKeyRe   = MustNameRule(`^[_\-a-zA-Z0-9]{1,60}$`)
	tagValueRe = MustNameRule(`^[a-zA-Z0-9 .:/=_\-+@]{0,256}$`)
)

// validate checks the constraints upstream's ProfileParams model enforces.
func (p ProfileParams) validate() error {
	for i, b := range p.Backends {
		if !slices.Contains(profileBackendTypes, b) {
			return decode.WithPath("backends"+decode.IndexSeg(i), fmt.Errorf("invalid backend %q; accepted: %s", b, strings.Join(profileBackendTypes, ", ")))
		}
	}
	if p.MaxPrice != nil && *p.MaxPrice <= 0 {
		return decode.WithPath("max_price", fmt.Errorf("must be greater than 0"))
	}
	if err := p.validateRetry(); err != nil {
		return decode.WithPath("retry", err)
	}
	if p.UtilizationPolicy != nil {
		if err := p.UtilizationPolicy.validate(); err != nil {
			return decode.WithPath("utilization_policy", err)
		}
	}
	if p.Schedule != nil {
		if err := p.Schedule.validate(); err != nil {
			return decode.WithPath("schedule", err)
		}
	}
	if p.Instances != nil && len(p.Instances) == 0 {
		return decode.WithPath("instances", fmt.Errorf("must contain at least one selector, or be omitted"))
	}
	for i, s := range p.Instances {
		if err := s.validate(); err != nil {
			return decode.WithPath("instances"+decode.IndexSeg(i), err)
		}
	}
	for i, f := range p.Fleets {
		if f.Name == "" {
			return decode.WithPath("fleets"+decode.IndexSeg(i), fmt.Errorf("fleet name must not be empty"))
		}
	}
	if err := validateTags(p.Tags); err != nil {
		return decode.WithPath("tags", err)
	}
	return validateBackendOptions(p.BackendOptions)
}

func (p ProfileParams) validateRetry() error {
	if p.Retry == nil || p.Retry.Policy == nil {
		return nil
	}
	if e := p.Retry.Policy.OnEvents; e != nil && len(e) == 0 {
		return decode.WithPath("on_events", fmt.Errorf("`on_events` cannot be empty; omit it to retry on all events"))
	}
	if d := p.Retry.Policy.Duration; d != nil && *d < 0 {
		return decode.WithPath("duration", fmt.Errorf("retry duration cannot be negative"))
	}
	return nil
}

func validateTags(tags map[string]string) error {
	for _, k := range sortedKeys(tags) {
		if !tagKeyRe.MatchString(k) {
			return fmt.Errorf("invalid tag key %q; the key must match %s", k, tagKeyRe)
		}
		if !tagValueRe.MatchString(tags[k]) {
			return decode.WithPath(k, fmt.Errorf("invalid tag value %q; the value must match %s", tags[k], tagValueRe))
		}
	}
	return nil
}

func validateBackendOptions(opts []BackendProfileOptions) error {
	seen := map[string]bool{}
	for i, o := range opts {
		if err := o.validate(); err != nil {
			return decode.WithPath("backend_options"+decode.IndexSeg(i), err)
		}
		if seen[o.Type] {
			return decode.WithPath("backend_options", fmt.Errorf("duplicate entry for backend '%s'", o.Type))
		}
		seen[o.Type] = true
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ResolvedSpotPolicy is the spot policy with the server default (on-demand) applied.
func (p ProfileParams) ResolvedSpotPolicy() SpotPolicy {
	if p.SpotPolicy == nil {
		return SpotPolicyOnDemand
	}
	return *p.SpotPolicy
}

// ResolvedCreationPolicy is the creation policy with the default (reuse-or-create) applied.
func (p ProfileParams) ResolvedCreationPolicy() CreationPolicy {
	if p.CreationPolicy == nil {
		return CreationPolicyReuseOrCreate
	}
	return *p.CreationPolicy
}

// ResolvedRetry is the effective retry policy, or nil for no retry: `true` means all events
// for DefaultRetryDuration; an object's missing on_events/duration take those defaults.
func (p ProfileParams) ResolvedRetry() *ProfileRetry {
	if p.Retry == nil || (p.Retry.Policy == nil && !p.Retry.Enabled) {
		return nil
	}
	out := &ProfileRetry{}
	if p.Retry.Policy != nil {
		out.OnEvents = cloneSlice(p.Retry.Policy.OnEvents)
		out.Duration = clonePtr(p.Retry.Policy.Duration)
	}
	if out.OnEvents == nil {
		out.OnEvents = []RetryEvent{RetryEventNoCapacity, RetryEventInterruption, RetryEventError}
	}
	if out.Duration == nil {
		d := DefaultRetryDuration
		out.Duration = &d
	}
	return out
}

// ResolvedMaxDuration is the run time limit; ok is false for no limit (unset or "off").
func (p ProfileParams) ResolvedMaxDuration() (limit Duration, ok bool) {
	if !p.MaxDuration.Set || p.MaxDuration.Off {
		return 0, false
	}
	return p.MaxDuration.Seconds, true
}

// ResolvedStopDuration is the graceful stop limit (default DefaultStopDuration); ok is false
// for no limit ("off").
func (p ProfileParams) ResolvedStopDuration() (limit Duration, ok bool) {
	switch {
	case !p.StopDuration.Set:
		return DefaultStopDuration, true
	case p.StopDuration.Off:
		return 0, false
	}
	return p.StopDuration.Seconds, true
}

// ResolvedIdleDuration is the idle timeout in seconds with def (DefaultRunIdleDuration or
// DefaultFleetIdleDuration) applied when unset; -1 means never terminate.
func (p ProfileParams) ResolvedIdleDuration(def Duration) Duration {
	switch {
	case !p.IdleDuration.Set:
		return def
	case p.IdleDuration.Seconds < 0:
		return -1
	}
	return p.IdleDuration.Seconds
}

// ResolvedStartupOrder is the startup order with the default (any) applied.
func (p ProfileParams) ResolvedStartupOrder() StartupOrder {
	if p.StartupOrder == nil {
		return StartupOrderAny
	}
	return *p.StartupOrder
}

// ResolvedStopCriteria is the stop criteria with the default (all-done) applied.
func (p ProfileParams) ResolvedStopCriteria() StopCriteria {
	if p.StopCriteria == nil {
		return StopCriteriaAllDone
	}
	return *p.StopCriteria
}
