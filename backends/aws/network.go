package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// subnet is a subnet instances may launch into.
type subnet struct {
	ID   string
	Zone string
}

// findSubnets returns the VPC a region launches into and its usable
// subnets (public ones when instances get public IPs), optionally only in
// zones. The VPC is vpc_ids[region], else the VPC named vpc_name, else the
// region's default VPC (unless default_vpcs is false).
func findSubnets(ctx context.Context, c *ec2.Client, cfg *Config, region string, zones []string) (string, []subnet, error) {
	vpcID, err := findVPC(ctx, c, cfg, region)
	if err != nil {
		return "", nil, err
	}
	out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	if err != nil {
		return "", nil, fmt.Errorf("list the subnets of VPC %s in %s: %s", vpcID, region, reason(err))
	}
	public := map[string]bool{}
	if cfg.allocatePublicIPs() {
		if public, err = publicSubnets(ctx, c, vpcID, out.Subnets); err != nil {
			return "", nil, fmt.Errorf("read the route tables of VPC %s in %s: %s", vpcID, region, reason(err))
		}
	}
	var subs []subnet
	for _, s := range out.Subnets {
		id, zone := aws.ToString(s.SubnetId), aws.ToString(s.AvailabilityZone)
		if cfg.allocatePublicIPs() && !public[id] {
			continue
		}
		if zones != nil && !slices.Contains(zones, zone) {
			continue
		}
		subs = append(subs, subnet{ID: id, Zone: zone})
	}
	slices.SortFunc(subs, func(a, b subnet) int { return strings.Compare(a.Zone+a.ID, b.Zone+b.ID) })
	if len(subs) == 0 {
		if cfg.allocatePublicIPs() {
			return "", nil, fmt.Errorf("Failed to find public subnets for VPC %s in region %s; "+
				"set `public_ips: false` to use private subnets", vpcID, region)
		}
		return "", nil, fmt.Errorf("Failed to find subnets for VPC %s in region %s", vpcID, region)
	}
	return vpcID, subs, nil
}

func findVPC(ctx context.Context, c *ec2.Client, cfg *Config, region string) (string, error) {
	var in ec2.DescribeVpcsInput
	what := ""
	switch id, ok := cfg.VPCIDs[region]; {
	case ok:
		in.VpcIds, what = []string{id}, "VPC "+id
	case cfg.VPCName != nil:
		in.Filters, what = []types.Filter{{Name: aws.String("tag:Name"), Values: []string{*cfg.VPCName}}}, "VPC named "+*cfg.VPCName
	case cfg.useDefaultVPCs():
		in.Filters, what = []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}, "default VPC"
	default:
		return "", fmt.Errorf("No VPC ID configured for region %s", region)
	}
	out, err := c.DescribeVpcs(ctx, &in)
	if code, _ := apiError(err); strings.HasPrefix(code, "InvalidVpcID") {
		return "", fmt.Errorf("Failed to find %s in region %s", what, region)
	}
	if err != nil {
		return "", fmt.Errorf("look up the %s in %s: %s", what, region, reason(err))
	}
	if len(out.Vpcs) == 0 {
		return "", fmt.Errorf("No %s in region %s", what, region)
	}
	return aws.ToString(out.Vpcs[0].VpcId), nil
}

// publicSubnets are the subnets that map public IPs on launch or whose
// route table (their own, else the VPC's main one) routes to an internet
// gateway.
func publicSubnets(ctx context.Context, c *ec2.Client, vpcID string, subs []types.Subnet) (map[string]bool, error) {
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	if err != nil {
		return nil, err
	}
	viaIGW := map[string]bool{} // subnet id ("" = main table) → default route to an internet gateway
	for _, rt := range out.RouteTables {
		igw := false
		for _, r := range rt.Routes {
			if strings.HasPrefix(aws.ToString(r.GatewayId), "igw-") {
				igw = true
			}
		}
		for _, a := range rt.Associations {
			if aws.ToBool(a.Main) {
				viaIGW[""] = igw
			} else if a.SubnetId != nil {
				viaIGW[*a.SubnetId] = igw
			}
		}
	}
	public := map[string]bool{}
	for _, s := range subs {
		id := aws.ToString(s.SubnetId)
		igw, explicit := viaIGW[id]
		if !explicit {
			igw = viaIGW[""]
		}
		public[id] = aws.ToBool(s.MapPublicIpOnLaunch) || igw
	}
	return public, nil
}
