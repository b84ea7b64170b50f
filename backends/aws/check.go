package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/backends/catalog"
)

// Configurator configures AWS backends.
type Configurator struct {
	opts    Options
	catalog *catalog.Catalog
}

// NewConfigurator returns the AWS configurator; offers come from cat.
func NewConfigurator(cat *catalog.Catalog, o Options) *Configurator {
	return &Configurator{opts: o, catalog: cat}
}

// Type implements backends.Configurator.
func (c *Configurator) Type() string { return Type }

// Check implements backends.Configurator: the credentials (STS
// GetCallerIdentity), every region (DescribeRegions), the networks of each
// region and the IAM instance profile.
func (c *Configurator) Check(ctx context.Context, raw json.RawMessage) (*backends.Record, error) {
	cfg, err := decodeConfig(raw)
	if err != nil {
		return nil, err
	}
	if cfg.Creds.Type == "default" && c.opts.DefaultCredsDisabled {
		return nil, &backends.ConfigError{Path: []string{"creds"}, Msg: "Invalid credentials: default credentials are disabled on this server", Credentials: true}
	}
	if cfg.VPCName != nil && cfg.VPCIDs != nil {
		return nil, backends.Configf([]string{"vpc_name"}, "Only one of `vpc_name` and `vpc_ids` can be specified")
	}
	if !cfg.useDefaultVPCs() && cfg.VPCName == nil && cfg.VPCIDs == nil {
		return nil, backends.Configf([]string{"default_vpcs"}, "`vpc_name` or `vpc_ids` must be specified if `default_vpcs: false`.")
	}
	s, err := newSession(ctx, c.opts, cfg.Creds)
	if err != nil {
		return nil, err
	}
	if _, err := sts.NewFromConfig(s.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		path := []string{"creds"}
		if cfg.Creds.Type == "access_key" {
			path = append(path, "access_key")
		}
		return nil, &backends.ConfigError{Path: path, Msg: "Invalid credentials: " + reason(err), Credentials: true}
	}
	if err := checkRegions(ctx, s, &cfg.Config); err != nil {
		return nil, err
	}
	if err := checkVPCs(ctx, s, &cfg.Config); err != nil {
		return nil, err
	}
	if p := cfg.IAMInstanceProfile; p != nil {
		_, err := iam.NewFromConfig(s.cfg).GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: p})
		if code, _ := apiError(err); code == "NoSuchEntity" {
			return nil, backends.Configf([]string{"iam_instance_profile"}, "IAM instance profile %s not found", *p)
		} else if err != nil {
			return nil, backends.Configf([]string{"iam_instance_profile"}, "Failed to check IAM instance profile %s: %s", *p, reason(err))
		}
	}
	if cfg.Regions == nil {
		cfg.Regions = DefaultRegions
	}
	conf, _ := json.Marshal(cfg.Config)
	auth, _ := json.Marshal(cfg.Creds)
	return &backends.Record{Type: Type, Config: conf, Auth: auth}, nil
}

// checkRegions refuses regions AWS does not have, or that are not enabled
// for the account.
func checkRegions(ctx context.Context, s *session, cfg *Config) error {
	out, err := s.EC2(mainRegion).DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return backends.Configf([]string{"regions"}, "cannot list the AWS regions: %s", reason(err))
	}
	status := map[string]string{}
	var known []string
	for _, r := range out.Regions {
		name := aws.ToString(r.RegionName)
		status[name] = aws.ToString(r.OptInStatus)
		known = append(known, name)
	}
	slices.Sort(known)
	for i, r := range cfg.regions() {
		st, ok := status[r]
		path := []string{"regions", strconv.Itoa(i)}
		if cfg.Regions == nil {
			path = []string{"regions"}
		}
		switch {
		case !ok:
			return backends.Configf(path, "%q is not an AWS region (AWS lists: %s)", r, strings.Join(known, ", "))
		case st == "not-opted-in":
			return backends.Configf(path, "region %s is not enabled for this AWS account (opt-in status: %s)", r, st)
		}
	}
	return nil
}

// checkVPCs finds the VPC and subnets each region would launch into.
func checkVPCs(ctx context.Context, s *session, cfg *Config) error {
	regions := cfg.regions()
	if cfg.VPCIDs != nil && !cfg.useDefaultVPCs() {
		var missing []string
		for _, r := range regions {
			if _, ok := cfg.VPCIDs[r]; !ok {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			return backends.Configf([]string{"vpc_ids"}, "`vpc_ids` not configured for regions %v. Configure `vpc_ids` for all regions or specify `regions`.", missing)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(12)
	for _, r := range regions {
		g.Go(func() error {
			_, _, err := findSubnets(gctx, s.EC2(r), cfg, r, nil)
			if err != nil {
				return backends.Configf(vpcPath(cfg), "%s", err.Error())
			}
			return nil
		})
	}
	return g.Wait()
}

func vpcPath(cfg *Config) []string {
	switch {
	case cfg.VPCName != nil:
		return []string{"vpc_name"}
	case cfg.VPCIDs != nil:
		return []string{"vpc_ids"}
	}
	return []string{"regions"}
}

// Show implements backends.Configurator.
func (c *Configurator) Show(rec *backends.Record, withCreds bool) (json.RawMessage, error) {
	var cfg Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return nil, fmt.Errorf("decode stored AWS configuration: %w", err)
	}
	if !withCreds {
		return json.Marshal(cfg)
	}
	var creds Creds
	if err := json.Unmarshal(rec.Auth, &creds); err != nil {
		return nil, fmt.Errorf("decode stored AWS credentials: %w", err)
	}
	return json.Marshal(ConfigWithCreds{Config: cfg, Creds: &creds})
}
