package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/server/schemas"
)

// Default images (upstream's): dstack's VM image for CPU instances, the AWS
// Deep Learning AMI for NVIDIA ones; both log in as ubuntu.
const (
	dstackAccount   = "142421590066"
	dstackImage     = "dstack-0.14"
	dlamiAccount    = "898082745236"
	dlamiImage      = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
	defaultUsername = "ubuntu"
)

// Launch errors by AWS error code.
var (
	capacityCodes = []string{"InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientCapacity",
		"InsufficientReservedInstanceCapacity", "InsufficientFreeAddressesInSubnet", "Unsupported", "SpotMaxPriceTooLow",
		"MaxSpotInstanceCountExceeded"}
	quotaCodes   = []string{"InstanceLimitExceeded", "VcpuLimitExceeded", "PendingVerification", "RequestLimitExceeded"}
	invalidCodes = []string{"InvalidParameterValue", "InvalidParameterCombination", "InvalidAMIID.NotFound",
		"InvalidAMIID.Malformed", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound"}
)

// launchError classifies a RunInstances failure.
func launchError(err error) *backends.LaunchError {
	code, _ := apiError(err)
	le := &backends.LaunchError{Reason: backends.ErrOther, Msg: reason(err)}
	switch {
	case slices.Contains(capacityCodes, code):
		le.Reason = backends.ErrNoCapacity
	case slices.Contains(quotaCodes, code):
		le.Reason = backends.ErrQuota
	case slices.Contains(invalidCodes, code):
		le.Reason, le.Msg = backends.ErrInvalid, "Invalid AWS request: "+le.Msg
	}
	return le
}

// Create implements backends.Compute: it launches into the region's
// subnets zone by zone, moving on to the next zone when one has no capacity.
func (c *compute) Create(ctx context.Context, offer schemas.InstanceOffer, cfg backends.InstanceConfig) (*schemas.JobProvisioningData, error) {
	region := offer.Region
	client := c.s.EC2(region)
	vpcID, subnets, err := findSubnets(ctx, client, &c.cfg, region, offer.AvailabilityZones)
	if err != nil {
		return nil, &backends.LaunchError{Reason: backends.ErrNoCapacity, Msg: err.Error()}
	}
	gpu := len(offer.Instance.Resources.Gpus) > 0
	imageID, user, err := c.image(ctx, client, gpu)
	if err != nil {
		return nil, &backends.LaunchError{Reason: backends.ErrInvalid, Msg: err.Error()}
	}
	sg, err := c.securityGroup(ctx, client, region, vpcID, cfg)
	if err != nil {
		return nil, &backends.LaunchError{Reason: backends.ErrOther, Msg: err.Error()}
	}
	var reserved *backends.Reservation
	if cfg.Reservation != nil {
		// The reservation decides the zone, the tenancy and, for a capacity
		// block, the market.
		reserved, err = reservation(ctx, client, *cfg.Reservation)
		if err != nil {
			return nil, &backends.LaunchError{Reason: backends.ErrOther, Msg: "capacity reservation " + *cfg.Reservation + ": " + reason(err)}
		}
		if reserved == nil || reserved.InstanceType != offer.Instance.Name {
			return nil, &backends.LaunchError{Reason: backends.ErrNoCapacity, Msg: fmt.Sprintf(
				"capacity reservation %s has no room for a %s in %s", *cfg.Reservation, offer.Instance.Name, region)}
		}
	}
	if g := cfg.PlacementGroup; g != "" {
		if !clusterPlacement(offer.Instance.Name) {
			return nil, &backends.LaunchError{Reason: backends.ErrInvalid,
				Msg: offer.Instance.Name + " instances cannot go into a cluster placement group"}
		}
		if err := ensurePlacementGroup(ctx, client, g); err != nil {
			return nil, &backends.LaunchError{Reason: backends.ErrOther, Msg: err.Error()}
		}
	}
	var last *backends.LaunchError
	tried := map[string]bool{}
	for _, sub := range subnets {
		if tried[sub.Zone] || (reserved != nil && sub.Zone != reserved.Zone) {
			continue
		}
		tried[sub.Zone] = true
		out, err := client.RunInstances(ctx, c.runInput(offer, cfg, reserved, imageID, sg, sub))
		if err != nil {
			last = launchError(err)
			if errors.Is(last, backends.ErrNoCapacity) {
				continue
			}
			return nil, last
		}
		in := out.Instances[0]
		jpd := &schemas.JobProvisioningData{Backend: Type, InstanceType: offer.Instance, InstanceID: aws.ToString(in.InstanceId),
			PublicIPEnabled: c.cfg.allocatePublicIPs(), Region: region, AvailabilityZone: aws.String(sub.Zone),
			Reservation: cfg.Reservation, Price: offer.Price, Username: user, Dockerized: true}
		return jpd, nil
	}
	if last == nil {
		last = &backends.LaunchError{Reason: backends.ErrNoCapacity, Msg: "No eligible availability zones"}
	}
	return nil, last
}

func (c *compute) runInput(offer schemas.InstanceOffer, cfg backends.InstanceConfig, reserved *backends.Reservation, imageID, sg string, sub subnet) *ec2.RunInstancesInput {
	disk := int32((offer.Instance.Resources.Disk.SizeMiB + 1023) / 1024)
	if disk < diskMinGB {
		disk = diskMinGB
	}
	tags := c.tags(cfg)
	in := &ec2.RunInstancesInput{
		ImageId: aws.String(imageID), InstanceType: types.InstanceType(offer.Instance.Name), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData:    aws.String(base64.StdEncoding.EncodeToString([]byte(cfg.UserData))),
		ClientToken: aws.String(clientToken(cfg.InstanceID, offer.Instance.Name, sub.Zone)),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sda1"),
			Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(disk), VolumeType: types.VolumeTypeGp2}}},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags}},
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: aws.String(sub.ID),
			AssociatePublicIpAddress: aws.Bool(c.cfg.allocatePublicIPs()), Groups: []string{sg}}},
	}
	if p := c.cfg.IAMInstanceProfile; p != nil {
		in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: p}
	}
	if offer.Instance.Resources.Spot {
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot,
			SpotOptions: &types.SpotMarketOptions{SpotInstanceType: types.SpotInstanceTypeOneTime,
				InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}}
	}
	if g := cfg.PlacementGroup; g != "" {
		in.Placement = &types.Placement{GroupName: aws.String(g)}
	}
	if r := reserved; r != nil {
		in.CapacityReservationSpecification = &types.CapacityReservationSpecification{
			CapacityReservationTarget: &types.CapacityReservationTarget{CapacityReservationId: aws.String(r.ID)}}
		// A reservation with another tenancy than the default only takes
		// instances launched with it.
		if r.Tenancy != "" && r.Tenancy != string(types.TenancyDefault) {
			if in.Placement == nil {
				in.Placement = &types.Placement{}
			}
			in.Placement.Tenancy = types.Tenancy(r.Tenancy)
		}
		if r.CapacityBlock {
			in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeCapacityBlock}
		}
	}
	return in
}

// clientToken makes a launch attempt idempotent in AWS: a retry of the
// same attempt (same instance row, type and zone) returns the same instance.
func clientToken(id, typ, zone string) string {
	t := id + "/" + typ + "/" + zone
	if len(t) > 64 {
		t = t[:64]
	}
	return t
}

// tags are the server's tags, the backend's and the fleet's (invalid
// ones dropped: AWS would refuse the launch).
func (c *compute) tags(cfg backends.InstanceConfig) []types.Tag {
	all := map[string]string{}
	maps.Copy(all, c.cfg.Tags)
	maps.Copy(all, cfg.Tags)
	for k, v := range map[string]string{"Name": cfg.InstanceName, backends.TagOwner: "dstack", backends.TagProject: cfg.ProjectName,
		backends.TagProjectID: cfg.ProjectID, backends.TagInstanceID: cfg.InstanceID, backends.TagName: cfg.InstanceName,
		backends.TagUser: cfg.User} {
		all[k] = v
	}
	var out []types.Tag
	for _, k := range slices.Sorted(maps.Keys(all)) {
		if checkTags(map[string]string{k: all[k]}) != nil {
			continue
		}
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(all[k])})
	}
	return out
}

// image finds the AMI to launch and the user it logs in as: os_images
// when configured, else upstream's defaults.
func (c *compute) image(ctx context.Context, client *ec2.Client, gpu bool) (string, string, error) {
	name, owner, user := dstackImage, dstackAccount, defaultUsername
	if gpu {
		name, owner = dlamiImage, dlamiAccount
	}
	if im := c.cfg.OSImages; im != nil {
		kind, conf := "cpu", im.CPU
		if gpu {
			kind, conf = "nvidia", im.NVIDIA
		}
		if conf == nil {
			return "", "", fmt.Errorf("os_images has no %s image", kind)
		}
		name, owner, user = conf.Name, conf.Owner, conf.User
	}
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{owner},
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
	if err != nil {
		return "", "", fmt.Errorf("look up image %q: %s", name, reason(err))
	}
	var best *types.Image
	for i := range out.Images {
		im := &out.Images[i]
		if im.State != types.ImageStateAvailable {
			continue
		}
		if best == nil || aws.ToString(im.CreationDate) > aws.ToString(best.CreationDate) {
			best = im
		}
	}
	if best == nil {
		return "", "", fmt.Errorf("image %q of owner %s not found", name, owner)
	}
	return aws.ToString(best.ImageId), user, nil
}

// securityGroup finds or creates the project's security group in the VPC:
// SSH from anywhere, everything from the group itself.
func (c *compute) securityGroup(ctx context.Context, client *ec2.Client, region, vpcID string, cfg backends.InstanceConfig) (string, error) {
	key := region + "/" + vpcID + "/" + cfg.ProjectID
	c.mu.Lock()
	id := c.sgs[key]
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	name := "dstack_security_group_" + strings.ReplaceAll(strings.ToLower(cfg.ProjectName), "-", "_")
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	if err != nil {
		return "", fmt.Errorf("look up security group %s: %s", name, reason(err))
	}
	if len(out.SecurityGroups) > 0 {
		id = aws.ToString(out.SecurityGroups[0].GroupId)
	} else {
		created, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
			Description: aws.String("Generated by dstack"), VpcId: aws.String(vpcID),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{
				{Key: aws.String(backends.TagOwner), Value: aws.String("dstack")},
				{Key: aws.String(backends.TagProject), Value: aws.String(cfg.ProjectName)}}}}})
		if err != nil {
			return "", fmt.Errorf("create security group %s: %s", name, reason(err))
		}
		id = aws.ToString(created.GroupId)
		_, err = client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
			IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
				{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}},
			}})
		if code, _ := apiError(err); err != nil && code != "InvalidPermission.Duplicate" {
			return "", fmt.Errorf("open SSH in security group %s: %s", name, reason(err))
		}
	}
	c.mu.Lock()
	c.sgs[key] = id
	c.mu.Unlock()
	return id, nil
}
