// Package aws is the AWS backend: EC2 instances from the gpuhunt "aws"
// catalog, narrowed to the instance types each configured region offers
// the account (DescribeInstanceTypeOfferings), launched with user data that
// starts the dstack agent. Its configuration is upstream's (`type: aws`,
// `creds`, `regions`, `vpc_name`/`vpc_ids`, `default_vpcs`, `public_ips`,
// `iam_instance_profile`, `tags`, `os_images`, `experimental_instance_types`).
package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dstackgo/dstack/backends"
)

// Type is the backend type.
const Type = "aws"

// DefaultRegions are upstream's regions when `regions` is omitted (where
// dstack's OS images are published).
var DefaultRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-southeast-1", "ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1"}

// mainRegion is where credentials are checked.
const mainRegion = "us-east-1"

// Creds are `creds`: {type: access_key, access_key, secret_key} or {type: default}.
type Creds struct {
	Type      string `json:"type"`
	AccessKey string `json:"access_key,omitempty"`
	SecretKey string `json:"secret_key,omitempty"`
}

// OSImage is one entry of `os_images`.
type OSImage struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
	User  string `json:"user"`
}

// OSImages is `os_images`.
type OSImages struct {
	CPU    *OSImage `json:"cpu,omitempty"`
	NVIDIA *OSImage `json:"nvidia,omitempty"`
}

// Config is an AWS backend configuration without credentials (what is
// stored in backends.config and shown without creds).
type Config struct {
	Type                      string            `json:"type"`
	Regions                   []string          `json:"regions"`
	VPCName                   *string           `json:"vpc_name"`
	VPCIDs                    map[string]string `json:"vpc_ids"`
	DefaultVPCs               *bool             `json:"default_vpcs"`
	PublicIPs                 *bool             `json:"public_ips"`
	IAMInstanceProfile        *string           `json:"iam_instance_profile"`
	Tags                      map[string]string `json:"tags"`
	OSImages                  *OSImages         `json:"os_images"`
	ExperimentalInstanceTypes []string          `json:"experimental_instance_types"`
}

// ConfigWithCreds is a configuration as the API and config.yml give it.
type ConfigWithCreds struct {
	Config
	Creds *Creds `json:"creds"`
}

// allocatePublicIPs is public_ips, true by default.
func (c *Config) allocatePublicIPs() bool { return c.PublicIPs == nil || *c.PublicIPs }

// useDefaultVPCs is default_vpcs, true by default.
func (c *Config) useDefaultVPCs() bool { return c.DefaultVPCs == nil || *c.DefaultVPCs }

// regions are the configured regions, upstream's defaults when omitted.
func (c *Config) regions() []string {
	if c.Regions == nil {
		return DefaultRegions
	}
	return c.Regions
}

var ownerRe = regexp.MustCompile(`^(\d{12}|self)$`)

// tagText reports whether s has only characters AWS accepts in tags: Unicode
// letters, separators and numbers, and _.:/=+-@. Lengths are checked apart.
// (As a regexp, ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$, it was compiled at every start
// of the binary: 99 KB; with the counted repetitions of the lengths, 15 MB.)
func tagText(s string) bool {
	for _, c := range s {
		if !unicode.In(c, unicode.L, unicode.Z, unicode.N) && !strings.ContainsRune("_.:/=+-@", c) {
			return false
		}
	}
	return true
}

// maxTags is upstream's limit on a backend's tags.
const maxTags = 25

// decodeConfig reads a configuration with credentials strictly: unknown
// fields and wrong types are refused with their path. It checks what needs
// no cloud call.
func decodeConfig(raw []byte) (*ConfigWithCreds, error) {
	var c ConfigWithCreds
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, describeJSONError(err)
	}
	if c.Type != Type {
		return nil, backends.Configf([]string{"type"}, "expected %q, got %q", Type, c.Type)
	}
	if c.Creds == nil {
		return nil, &backends.ConfigError{Path: []string{"creds"}, Msg: "field required (type: access_key with access_key and secret_key, or type: default)"}
	}
	switch c.Creds.Type {
	case "access_key":
		if c.Creds.AccessKey == "" || c.Creds.SecretKey == "" {
			return nil, &backends.ConfigError{Path: []string{"creds"}, Msg: "access_key and secret_key are required with type: access_key", Credentials: true}
		}
	case "default":
		if c.Creds.AccessKey != "" || c.Creds.SecretKey != "" {
			return nil, backends.Configf([]string{"creds"}, "type: default takes no access_key or secret_key")
		}
	default:
		return nil, backends.Configf([]string{"creds", "type"}, "%q is not a credentials type (accepted: access_key, default)", c.Creds.Type)
	}
	if c.Regions != nil && len(c.Regions) == 0 {
		return nil, backends.Configf([]string{"regions"}, "the list is empty; omit it to use the default regions")
	}
	if c.OSImages != nil {
		for name, im := range map[string]*OSImage{"cpu": c.OSImages.CPU, "nvidia": c.OSImages.NVIDIA} {
			if im == nil {
				continue
			}
			if im.Owner == "" {
				im.Owner = "self"
			}
			switch {
			case im.Name == "":
				return nil, backends.Configf([]string{"os_images", name, "name"}, "field required")
			case im.User == "":
				return nil, backends.Configf([]string{"os_images", name, "user"}, "field required")
			case !ownerRe.MatchString(im.Owner):
				return nil, backends.Configf([]string{"os_images", name, "owner"}, "%q is not an AWS account ID (12 digits) or self", im.Owner)
			}
		}
	}
	return &c, checkTags(c.Tags)
}

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return backends.Configf([]string{"tags"}, "Maximum number of tags exceeded. Up to %d tags is allowed.", maxTags)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case !tagText(k) || k == "" || utf8.RuneCountInString(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:"):
			return backends.Configf([]string{"tags", k}, "invalid tag key %q: 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:", k)
		case !tagText(tags[k]) || utf8.RuneCountInString(tags[k]) > 256:
			return backends.Configf([]string{"tags", k}, "invalid value of tag %q: up to 256 letters, digits, spaces or _.:/=+-@", k)
		}
	}
	return nil
}

func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := strings.Split(te.Field, ".")
		return backends.Configf(path, "expected %s, got %s", te.Type, te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return backends.Configf([]string{f}, "unknown field (accepted: type, creds, regions, vpc_name, vpc_ids, default_vpcs, "+
			"public_ips, iam_instance_profile, tags, os_images, experimental_instance_types)")
	}
	return fmt.Errorf("invalid AWS backend configuration: %w", err)
}
