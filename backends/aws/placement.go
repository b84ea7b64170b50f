package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dstackgo/dstack/backends"
)

// clusterPlacement reports whether instances of the type can go into a
// cluster placement group (burstable types cannot).
func clusterPlacement(instanceType string) bool {
	return !strings.HasPrefix(instanceType, "t2.") && !strings.HasPrefix(instanceType, "t3.")
}

// ensurePlacementGroup creates the cluster placement group in the client's
// region unless it exists.
func ensurePlacementGroup(ctx context.Context, client *ec2.Client, name string) error {
	_, err := client.CreatePlacementGroup(ctx, &ec2.CreatePlacementGroupInput{GroupName: aws.String(name),
		Strategy: types.PlacementStrategyCluster})
	if code, _ := apiError(err); code == "InvalidPlacementGroup.Duplicate" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create placement group %s: %s", name, reason(err))
	}
	return nil
}

// DeletePlacementGroup implements backends.PlacementGrouper.
func (c *compute) DeletePlacementGroup(ctx context.Context, name, region string) error {
	_, err := c.s.EC2(region).DeletePlacementGroup(ctx, &ec2.DeletePlacementGroupInput{GroupName: aws.String(name)})
	switch code, _ := apiError(err); code {
	case "InvalidPlacementGroup.Unknown":
		return nil
	case "InvalidPlacementGroup.InUse":
		return fmt.Errorf("delete placement group %s in %s: %w", name, region, backends.ErrPlacementGroupInUse)
	}
	if err != nil {
		return fmt.Errorf("delete placement group %s in %s: %s", name, region, reason(err))
	}
	return nil
}
