package mototest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 is an EC2 client of region against the emulator at endpoint.
func EC2(t testing.TB, endpoint, region string) *ec2.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatalf("mototest: %v", err)
	}
	return ec2.NewFromConfig(cfg)
}

// Network makes a VPC with one subnet, both of cidr, in the client's
// region, and returns their ids.
func Network(t testing.TB, c *ec2.Client, cidr string) (vpcID, subnetID string) {
	t.Helper()
	ctx := context.Background()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("mototest: create VPC %s: %v", cidr, err)
	}
	sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("mototest: create subnet %s: %v", cidr, err)
	}
	return aws.ToString(vpc.Vpc.VpcId), aws.ToString(sub.Subnet.SubnetId)
}

// Image registers an AMI named name owned by the account ("self").
func Image(t testing.TB, c *ec2.Client, name string) string {
	t.Helper()
	out, err := c.RegisterImage(context.Background(), &ec2.RegisterImageInput{Name: aws.String(name),
		Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/sda1")})
	if err != nil {
		t.Fatalf("mototest: register image %s: %v", name, err)
	}
	return aws.ToString(out.ImageId)
}

// Instances lists the instances of the client's region in any of states
// (all when none given).
func Instances(t testing.TB, c *ec2.Client, states ...string) []types.Instance {
	t.Helper()
	in := &ec2.DescribeInstancesInput{}
	if len(states) > 0 {
		in.Filters = []types.Filter{{Name: aws.String("instance-state-name"), Values: states}}
	}
	out, err := c.DescribeInstances(context.Background(), in)
	if err != nil {
		t.Fatalf("mototest: describe instances: %v", err)
	}
	var all []types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}
