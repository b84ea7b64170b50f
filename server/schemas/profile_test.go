package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProfileFieldForms(t *testing.T) {
	t.Run("retry", func(t *testing.T) {
		runScalarCases[RetryConfig](t, []scalarCase{
			{name: "true", in: `true`, want: `true`},
			{name: "false", in: `false`, want: `false`},
			{name: "object", in: `{"on_events": ["error"], "duration": "4h"}`, want: `{"on_events":["error"],"duration":14400}`},
			{name: "empty object", in: `{}`, want: `{"on_events":null,"duration":null}`},
			{name: "bad event", in: `{"on_events": ["oom"]}`, wantErr: `on_events[0]: invalid value "oom"; accepted: no-capacity, interruption, error`},
			{name: "number", in: `3`, wantErr: "invalid retry number 3"},
		})
	})
	t.Run("instance selector", func(t *testing.T) {
		runScalarCases[InstanceSelector](t, []scalarCase{
			{name: "string", in: `"my-fleet-0"`, want: `{"name":"my-fleet-0"}`},
			{name: "name", in: `{"name": "my-fleet-0"}`, want: `{"name":"my-fleet-0"}`},
			{name: "hostname", in: `{"hostname": "10.0.0.5"}`, want: `{"hostname":"10.0.0.5"}`},
			{name: "fleet and instance", in: `{"fleet": "team/f", "instance": 0}`, want: `{"fleet":{"project":"team","name":"f"},"instance":0}`},
			{name: "mixed", in: `{"name": "a", "hostname": "b"}`, wantErr: "invalid instance selector; accepted:"},
			{name: "fleet without instance", in: `{"fleet": "f"}`, wantErr: "invalid instance selector"},
		})
	})
	t.Run("schedule", func(t *testing.T) {
		runScalarCases[Schedule](t, []scalarCase{
			{name: "string", in: `{"cron": "*/15 * * * *"}`, want: `{"cron":["*/15 * * * *"]}`},
			{name: "list", in: `{"cron": ["0 8 * * 1-5", "30 20 1 jan-mar *"]}`, want: `{"cron":["0 8 * * 1-5","30 20 1 jan-mar *"]}`},
			{name: "missing cron", in: `{}`, wantErr: "cron: field required"},
		})
	})
}

func TestValidateCron(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		wantErr string
	}{
		{expr: "* * * * *"},
		{expr: "0 0 1 1 0"},
		{expr: "*/5 0-23/2 1,15 * MON-FRI"},
		{expr: "0 12 last * *"},
		{expr: "0 8 * * 7"},
		{expr: "* * * *", wantErr: "got 4 fields; expected 5"},
		{expr: "60 * * * *", wantErr: `minute field "60": 60 is out of range 0-59`},
		{expr: "* * 0 * *", wantErr: `day field "0": 0 is out of range 1-31`},
		{expr: "* * * foo *", wantErr: `"foo" is not a number or a name`},
		{expr: "*/0 * * * *", wantErr: `step "0" must be a positive integer`},
		{expr: "* 5-1 * * *", wantErr: "range 5-1 is reversed"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			err := ValidateCron(tc.expr)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestProfileValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "valid", in: `{"name": "p", "backends": ["aws", "remote"], "max_price": 1.5, "tags": {"team": "ml"}}`},
		{name: "backend", in: `{"backends": ["aws", "ibm"]}`, wantErr: `backends[1]: invalid backend "ibm"`},
		{name: "max price", in: `{"max_price": 0}`, wantErr: "max_price: must be greater than 0"},
		{name: "retry events empty", in: `{"retry": {"on_events": []}}`, wantErr: "retry.on_events: `on_events` cannot be empty"},
		{name: "utilization window", in: `{"utilization_policy": {"min_gpu_utilization": 5, "time_window": "1m"}}`, wantErr: "utilization_policy.time_window: minimum time_window is 5m"},
		{name: "utilization percent", in: `{"utilization_policy": {"min_gpu_utilization": 101, "time_window": "1h"}}`, wantErr: "utilization_policy.min_gpu_utilization: must be between 0 and 100"},
		{name: "instances empty", in: `{"instances": []}`, wantErr: "instances: must contain at least one selector"},
		{name: "tag key", in: `{"tags": {"bad key": "v"}}`, wantErr: `tags: invalid tag key "bad key"`},
		{name: "tag value", in: `{"tags": {"k": "a|b"}}`, wantErr: `tags.k: invalid tag value "a|b"`},
		{name: "backend options duplicate", in: `{"backend_options": [{"type": "vastai"}, {"min_score": 1}]}`, wantErr: "backend_options: duplicate entry for backend 'vastai'"},
		{name: "backend options range", in: `{"backend_options": [{"type": "vastai", "min_reliability": 2}]}`, wantErr: "backend_options[0].min_reliability: must be between 0 and 1"},
		{name: "schedule", in: `{"schedule": {"cron": []}}`, wantErr: "schedule.cron: at least one cron expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Profile
			require.NoError(t, json.Unmarshal([]byte(tc.in), &p))
			err := p.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestMergeProfile(t *testing.T) {
	var profile Profile
	require.NoError(t, json.Unmarshal([]byte(`{"name": "gpu", "default": true, "backends": ["aws"],
		"regions": ["us-east-1"], "spot_policy": "spot", "max_duration": "1h", "tags": {"a": "1"}}`), &profile))
	var conf TaskConfiguration
	require.NoError(t, json.Unmarshal([]byte(`{"type": "task", "commands": ["x"], "regions": [],
		"spot_policy": "auto", "idle_duration": "off", "fleets": ["f"]}`), &conf))
	before, _ := json.Marshal(profile)

	got := MergeProfile(&profile, conf.ProfileParams)
	after, _ := json.Marshal(profile)
	require.JSONEq(t, string(before), string(after), "MergeProfile must not change its input")

	want := profile.ProfileParams.Clone()
	want.Regions = []string{} // an explicit empty list is a value, not "unset"
	want.SpotPolicy = ptr(SpotPolicyAuto)
	want.IdleDuration = IdleOff()
	want.Fleets = []EntityReference{{Name: "f"}}
	require.Equal(t, Profile{ProfileParams: want, Name: "gpu", Default: true}, got)

	t.Run("nil profile", func(t *testing.T) {
		got := MergeRunProfile(nil, conf.ProfileParams)
		require.Equal(t, "default", got.Name)
		require.Equal(t, CreationPolicyReuseOrCreate, got.ResolvedCreationPolicy())
		require.Equal(t, SpotPolicyAuto, got.ResolvedSpotPolicy())
	})
	t.Run("deep copy", func(t *testing.T) {
		got := MergeProfile(&profile, ProfileParams{})
		got.Tags["a"] = "changed"
		got.Backends[0] = "gcp"
		require.Equal(t, "1", profile.Tags["a"])
		require.Equal(t, "aws", profile.Backends[0])
	})
}

func TestResolvedDefaults(t *testing.T) {
	allEvents := []RetryEvent{RetryEventNoCapacity, RetryEventInterruption, RetryEventError}
	for _, tc := range []struct {
		name      string
		in        string
		wantRetry *ProfileRetry
		wantStop  string // "off" or seconds
		wantMax   string // "none" or seconds
		wantIdle  Duration
		wantSpot  SpotPolicy
	}{
		{name: "all unset", in: `{}`, wantStop: "300", wantMax: "none", wantIdle: 300, wantSpot: SpotPolicyOnDemand},
		{name: "retry true", in: `{"retry": true}`, wantRetry: &ProfileRetry{OnEvents: allEvents, Duration: ptr(Duration(3600))},
			wantStop: "300", wantMax: "none", wantIdle: 300, wantSpot: SpotPolicyOnDemand},
		{name: "retry false", in: `{"retry": false, "stop_duration": "off", "max_duration": "off"}`,
			wantStop: "off", wantMax: "none", wantIdle: 300, wantSpot: SpotPolicyOnDemand},
		{name: "retry partial", in: `{"retry": {"duration": "2h"}, "stop_duration": 60, "max_duration": "1d", "idle_duration": -1, "spot_policy": "spot"}`,
			wantRetry: &ProfileRetry{OnEvents: allEvents, Duration: ptr(Duration(7200))},
			wantStop:  "60", wantMax: "86400", wantIdle: -1, wantSpot: SpotPolicySpot},
		{name: "idle set", in: `{"idle_duration": "10m"}`, wantStop: "300", wantMax: "none", wantIdle: 600, wantSpot: SpotPolicyOnDemand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Profile
			require.NoError(t, json.Unmarshal([]byte(tc.in), &p))
			require.Equal(t, tc.wantRetry, p.ResolvedRetry())
			stop, ok := p.ResolvedStopDuration()
			require.Equal(t, tc.wantStop, map[bool]string{true: itoa(int(stop)), false: "off"}[ok])
			limit, ok := p.ResolvedMaxDuration()
			require.Equal(t, tc.wantMax, map[bool]string{true: itoa(int(limit)), false: "none"}[ok])
			require.Equal(t, tc.wantIdle, p.ResolvedIdleDuration(DefaultRunIdleDuration))
			require.Equal(t, tc.wantSpot, p.ResolvedSpotPolicy())
			require.Equal(t, StartupOrderAny, p.ResolvedStartupOrder())
			require.Equal(t, StopCriteriaAllDone, p.ResolvedStopCriteria())
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
