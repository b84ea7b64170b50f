package schemas

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

var (
	rateLimitPrefixRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/[^\s\\{}]*$`) })
	headerNameRe      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9-_]+$`) })
	probeMethods      = []string{"get", "post", "put", "delete", "patch", "head"}
)

func (c ServiceConfiguration) validateTraffic() error {
	seen := map[string]bool{}
	for i, rl := range c.RateLimits {
		if err := rl.validate(); err != nil {
			return decode.WithPath("rate_limits"+decode.IndexSeg(i), err)
		}
		if seen[rl.Prefix] {
			return decode.WithPath("rate_limits", fmt.Errorf("prefix %q is used more than once; each rate limit needs a unique prefix", rl.Prefix))
		}
		seen[rl.Prefix] = true
	}
	probes := map[string]bool{}
	for i, p := range c.Probes {
		if err := p.validate(); err != nil {
			return decode.WithPath("probes"+decode.IndexSeg(i), err)
		}
		key, _ := json.Marshal(p)
		if probes[string(key)] {
			return decode.WithPath("probes", fmt.Errorf("probes must be unique"))
		}
		probes[string(key)] = true
	}
	return nil
}

func (r RateLimit) validate() error {
	switch {
	case len(r.Prefix) > 4094 || !rateLimitPrefixRe().MatchString(r.Prefix):
		return decode.WithPath("prefix", fmt.Errorf("invalid prefix %q; it must start with / and contain no spaces, \\, { or }", r.Prefix))
	case r.RPS < 1.0/60 || r.RPS > float64(math.MaxInt64/60):
		return decode.WithPath("rps", fmt.Errorf("must be at least 1/60 (one request per minute), got %v", r.RPS))
	case r.Burst < 0:
		return decode.WithPath("burst", fmt.Errorf("must be >= 0"))
	}
	switch r.Key.Type {
	case "ip_address":
		if r.Key.Header != nil {
			return decode.WithPath("key.header", fmt.Errorf("only accepted with type: header"))
		}
	case "header":
		if r.Key.Header == nil || len(*r.Key.Header) > 500 || !headerNameRe().MatchString(*r.Key.Header) {
			return decode.WithPath("key.header", fmt.Errorf("a header name matching %s is required", headerNameRe()))
		}
	default:
		return decode.WithPath("key.type", fmt.Errorf("invalid key type %q; accepted: ip_address, header", r.Key.Type))
	}
	return nil
}

func (p ProbeConfig) validate() error {
	switch {
	case p.Type != "http":
		return decode.WithPath("type", fmt.Errorf("invalid probe type %q; accepted: http", p.Type))
	case p.URL != nil && !strings.HasPrefix(*p.URL, "/"):
		return decode.WithPath("url", fmt.Errorf("must start with `/`"))
	case p.URL != nil && len(*p.URL) > 2048:
		return decode.WithPath("url", fmt.Errorf("cannot be longer than 2048 characters"))
	case p.URL != nil && strings.IndexFunc(*p.URL, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return decode.WithPath("url", fmt.Errorf("cannot contain non-printable characters"))
	case p.Method != nil && !slices.Contains(probeMethods, *p.Method):
		return decode.WithPath("method", fmt.Errorf("invalid method %q; accepted: %s", *p.Method, strings.Join(probeMethods, ", ")))
	case len(p.Headers) > 16:
		return decode.WithPath("headers", fmt.Errorf("at most 16 headers are allowed"))
	case p.Body != nil && (len(*p.Body) == 0 || len(*p.Body) > 2048):
		return decode.WithPath("body", fmt.Errorf("must be 1 to 2048 characters long"))
	case p.Body != nil && p.Method != nil && (*p.Method == "get" || *p.Method == "head"):
		return decode.WithPath("body", fmt.Errorf("cannot set a request body for the `%s` method", *p.Method))
	case p.Timeout != nil && *p.Timeout < 1:
		return decode.WithPath("timeout", fmt.Errorf("probe timeout cannot be shorter than 1s"))
	case p.Interval != nil && *p.Interval < 1:
		return decode.WithPath("interval", fmt.Errorf("probe interval cannot be shorter than 1s"))
	case p.ReadyAfter != nil && *p.ReadyAfter < 1:
		return decode.WithPath("ready_after", fmt.Errorf("must be at least 1"))
	}
	for i, h := range p.Headers {
		if len(h.Name) < 1 || len(h.Name) > 256 || len(h.Value) < 1 || len(h.Value) > 2048 {
			return decode.WithPath("headers"+decode.IndexSeg(i), fmt.Errorf("header name must be 1..256 and value 1..2048 characters long"))
		}
	}
	return nil
}

func (c ServiceConfiguration) validateGroups() error {
	groups := c.Replicas.Groups
	switch {
	case len(groups) == 0:
		return decode.WithPath("groups", fmt.Errorf("`groups` cannot be an empty list"))
	case c.Scaling != nil:
		return decode.WithPath("scaling", fmt.Errorf("top-level `scaling` is not allowed when `groups` is set; specify `scaling` in each replica group"))
	case len(c.Commands) > 0:
		return decode.WithPath("commands", fmt.Errorf("top-level `commands` is not allowed when `groups` is set; specify `commands` in each replica group"))
	}
	seen, routers := map[string]bool{}, 0
	for i, g := range groups {
		name := fmt.Sprint(i)
		if g.Name != nil {
			name = *g.Name
		}
		if err := c.validateGroup(g, name, seen); err != nil {
			return decode.WithPath("groups"+decode.IndexSeg(i), err)
		}
		if g.Router != nil {
			routers++
			if routers > 1 {
				return decode.WithPath("groups", fmt.Errorf("at most one replica group may specify `router`"))
			}
		}
	}
	return nil
}

func (c ServiceConfiguration) validateGroup(g ReplicaGroup, name string, seen map[string]bool) error {
	if !groupNameRe().MatchString(name) {
		return decode.WithPath("name", fmt.Errorf("invalid replica group name %q; it must match %s", name, groupNameRe()))
	}
	if seen[name] {
		return decode.WithPath("name", fmt.Errorf("duplicate replica group name %q; each replica group must have a unique name", name))
	}
	seen[name] = true
	if err := validateReplicaRange(g.Replicas); err != nil {
		return decode.WithPath("count", err)
	}
	if err := checkScalingMatchesRange(g.Replicas, g.Scaling != nil, "count"); err != nil {
		return err
	}
	if g.Scaling != nil {
		if err := g.Scaling.validate(); err != nil {
			return decode.WithPath("scaling", err)
		}
	}
	if err := validateImageSources("within a replica group", g.Image != nil, g.Python != nil, isTrue(g.Nvcc), isTrue(g.Docker)); err != nil {
		return err
	}
	if g.Privileged != nil && !*g.Privileged && isTrue(g.Docker) {
		return decode.WithPath("privileged", fmt.Errorf("`privileged: false` is incompatible with `docker: true` (docker-in-docker needs privileged mode)"))
	}
	if err := c.checkGroupAgainstService(g); err != nil {
		return err
	}
	if len(g.Commands) == 0 && g.Image == nil && c.Image == nil {
		return decode.WithPath("commands", fmt.Errorf("replica group %q: either `commands` or `image` must be set in the group, or `image` at the service level", name))
	}
	if g.Router != nil {
		if g.Router.Type != "sglang" && g.Router.Type != "dynamo" {
			return decode.WithPath("router.type", fmt.Errorf("invalid router type %q; accepted: sglang, dynamo", g.Router.Type))
		}
		if r := g.Replicas; r.Min == nil || r.Max == nil || *r.Min != 1 || *r.Max != 1 {
			return decode.WithPath("count", fmt.Errorf("a replica group with `router` must have exactly 1 replica"))
		}
	}
	return g.Resources.Validate()
}

// checkGroupAgainstService rejects fields set both at the service level and in a group, and
// image sources that conflict across the two levels.
func (c ServiceConfiguration) checkGroupAgainstService(g ReplicaGroup) error {
	svc := map[string]bool{
		"image": c.Image != nil, "docker": isTrue(c.Docker), "privileged": c.Privileged,
		"python": c.Python != nil, "nvcc": isTrue(c.Nvcc), "spot_policy": c.SpotPolicy != nil,
		"reservation": c.Reservation != nil,
	}
	grp := map[string]bool{
		"image": g.Image != nil, "docker": g.Docker != nil, "privileged": g.Privileged != nil,
		"python": g.Python != nil, "nvcc": g.Nvcc != nil, "spot_policy": g.SpotPolicy != nil,
		"reservation": g.Reservation != nil,
	}
	for _, f := range []string{"image", "docker", "privileged", "python", "nvcc", "spot_policy", "reservation"} {
		if svc[f] && grp[f] {
			return decode.WithPath(f, fmt.Errorf("`%s` is set both at the service level and in the replica group; set it in one place only", f))
		}
	}
	conflicts := map[string][]string{
		"image": {"docker", "python", "nvcc"}, "docker": {"image", "python", "nvcc"},
		"python": {"image", "docker"}, "nvcc": {"image", "docker"},
	}
	for _, s := range []string{"image", "docker", "python", "nvcc"} {
		for _, gf := range conflicts[s] {
			if svc[s] && grp[gf] {
				return decode.WithPath(gf, fmt.Errorf("service-level `%s` conflicts with group-level `%s`; these image sources are mutually exclusive", s, gf))
			}
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }
