package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends"
	awsb "github.com/dstackgo/dstack/backends/aws"
	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/backends/catalog"
	"github.com/dstackgo/dstack/server/schemas"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.Stop()
	os.Exit(code)
}

const csvHeader = "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data\n"

// testCatalog has supported types moto offers in us-east-1, one family
// upstream does not provision (x2iedn), one type no region offers and an
// offer in a region outside the configuration.
func testCatalog(t *testing.T) *catalog.Catalog {
	items, _, err := catalog.Parse(strings.NewReader(csvHeader +
		"t3.large,us-east-1,0.0832,2,8,0,,,False,,,,x86,{}\n" +
		"g5.xlarge,us-east-1,1.006,4,16,1,A10G,24,False,,nvidia,,x86,{}\n" +
		"g5.xlarge,us-east-1,0.41,4,16,1,A10G,24,True,,nvidia,,x86,{}\n" +
		"x2iedn.xlarge,us-east-1,0.83,4,128,0,,,False,,,,x86,{}\n" +
		"g5.fake,us-east-1,0.5,4,16,1,A10G,24,False,,nvidia,,x86,{}\n" +
		"t3.large,eu-west-1,0.0912,2,8,0,,,False,,,,x86,{}\n"))
	require.NoError(t, err)
	c := catalog.New(catalog.Options{URL: "http://127.0.0.1:1"})
	c.Set(&catalog.Provider{Name: "aws", Version: "test", Items: items})
	return c
}

func raw(t *testing.T, v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func creds() map[string]any {
	return map[string]any{"type": "access_key", "access_key": "AKIATEST", "secret_key": "secret"}
}

func TestCheck(t *testing.T) {
	moto := mototest.URL(t)
	mototest.Reset(t)
	proxy := mototest.NewProxy(t, moto, "")
	proxy.Fail(mototest.Fault{Action: "GetCallerIdentity", AccessKey: "AKIABAD", Status: 403, Code: "InvalidClientTokenId",
		Message: "The security token included in the request is invalid."})
	conf := awsb.NewConfigurator(testCatalog(t), awsb.Options{Endpoint: proxy.URL})
	ctx := context.Background()
	tests := []struct {
		name  string
		cfg   map[string]any
		path  string
		msg   string
		creds bool
	}{
		{name: "default VPC in one region", cfg: map[string]any{"type": "aws", "creds": creds(), "regions": []string{"us-east-1"}}},
		{name: "credentials AWS refuses", cfg: map[string]any{"type": "aws", "regions": []string{"us-east-1"},
			"creds": map[string]any{"type": "access_key", "access_key": "AKIABAD", "secret_key": "x"}},
			path: "creds.access_key", msg: "Invalid credentials: InvalidClientTokenId: The security token included in the request is invalid.", creds: true},
		{name: "unknown region", cfg: map[string]any{"type": "aws", "creds": creds(), "regions": []string{"us-east-1", "us-east-9"}},
			path: "regions.1", msg: `"us-east-9" is not an AWS region (AWS lists: af-south-1,`},
		{name: "missing VPC name", cfg: map[string]any{"type": "aws", "creds": creds(), "regions": []string{"us-east-1"}, "vpc_name": "nope"},
			path: "vpc_name", msg: "No VPC named nope in region us-east-1"},
		{name: "vpc_name and vpc_ids", cfg: map[string]any{"type": "aws", "creds": creds(), "vpc_name": "a", "vpc_ids": map[string]string{"us-east-1": "vpc-1"}},
			path: "vpc_name", msg: "Only one of `vpc_name` and `vpc_ids` can be specified"},
		{name: "missing IAM instance profile", cfg: map[string]any{"type": "aws", "creds": creds(), "regions": []string{"us-east-1"},
			"iam_instance_profile": "nope"}, path: "iam_instance_profile", msg: "IAM instance profile nope not found"},
		{name: "unknown field", cfg: map[string]any{"type": "aws", "creds": creds(), "region": "us-east-1"},
			path: "region", msg: "unknown field (accepted: type, creds, regions,"},
		{name: "no creds", cfg: map[string]any{"type": "aws"}, path: "creds", msg: "field required"},
		{name: "bad tag", cfg: map[string]any{"type": "aws", "creds": creds(), "tags": map[string]string{"aws:x": "y"}},
			path: "tags.aws:x", msg: "invalid tag key"},
		{name: "tag key too long", cfg: map[string]any{"type": "aws", "creds": creds(), "tags": map[string]string{strings.Repeat("é", 129): "y"}},
			path: "tags." + strings.Repeat("é", 129), msg: "invalid tag key"},
		{name: "tag value too long", cfg: map[string]any{"type": "aws", "creds": creds(), "tags": map[string]string{"team": strings.Repeat("x", 257)}},
			path: "tags.team", msg: "invalid value of tag"},
		{name: "tag with a character AWS refuses", cfg: map[string]any{"type": "aws", "creds": creds(), "tags": map[string]string{"team": "a;b"}},
			path: "tags.team", msg: "invalid value of tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := conf.Check(ctx, raw(t, tt.cfg))
			if tt.msg == "" {
				require.NoError(t, err)
				require.JSONEq(t, `{"type":"access_key","access_key":"AKIATEST","secret_key":"secret"}`, string(rec.Auth))
				require.NotContains(t, string(rec.Config), "secret")
				shown, err := conf.Show(rec, true)
				require.NoError(t, err)
				require.Contains(t, string(shown), `"creds":{"type":"access_key"`)
				return
			}
			var ce *backends.ConfigError
			require.True(t, errors.As(err, &ce), "want a ConfigError, got %v", err)
			require.Equal(t, tt.path, strings.Join(ce.Path, "."))
			require.Contains(t, ce.Msg, tt.msg)
			require.Equal(t, tt.creds, ce.Credentials)
		})
	}
}

func TestOffersFollowCatalogAndRegionOfferings(t *testing.T) {
	moto := mototest.URL(t)
	proxy := mototest.NewProxy(t, moto, "")
	conf := awsb.NewConfigurator(testCatalog(t), awsb.Options{Endpoint: proxy.URL})
	rec, err := conf.Check(context.Background(), raw(t, map[string]any{"type": "aws", "creds": creds(),
		"regions": []string{"us-east-1"}, "experimental_instance_types": []string{"x2iedn.xlarge"}}))
	require.NoError(t, err)
	c, err := conf.Open(rec)
	require.NoError(t, err)
	offers, err := c.Offers(context.Background())
	require.NoError(t, err)
	var got []string
	for _, o := range offers.Offers {
		got = append(got, fmt.Sprintf("%s/%s/spot=%v", o.Region, o.Instance.Name, o.Instance.Resources.Spot))
	}
	require.Equal(t, []string{"us-east-1/t3.large/spot=false", "us-east-1/g5.xlarge/spot=false", "us-east-1/g5.xlarge/spot=true",
		"us-east-1/x2iedn.xlarge/spot=false"}, got, "g5.fake is offered in no region; eu-west-1 is not configured")
	require.EqualValues(t, 100, offers.DiskMinGB)
	seen := proxy.Seen("DescribeInstanceTypeOfferings")
	_, err = c.Offers(context.Background())
	require.NoError(t, err)
	require.Equal(t, seen, proxy.Seen("DescribeInstanceTypeOfferings"), "offerings are cached")
}

// launchBackend opens a backend launching into a private VPC of moto with
// a registered CPU image.
func launchBackend(t *testing.T, endpoint string) (backends.Compute, string) {
	ec2c := mototest.EC2(t, endpoint, "us-east-1")
	vpc, _ := mototest.Network(t, ec2c, "10.201.7.0/24")
	mototest.Image(t, ec2c, "test-image-"+vpc)
	conf := awsb.NewConfigurator(testCatalog(t), awsb.Options{Endpoint: endpoint})
	rec, err := conf.Check(context.Background(), raw(t, map[string]any{"type": "aws", "creds": creds(), "regions": []string{"us-east-1"},
		"vpc_ids": map[string]string{"us-east-1": vpc}, "public_ips": false,
		"os_images": map[string]any{"cpu": map[string]any{"name": "test-image-" + vpc, "user": "tester"}}}))
	require.NoError(t, err)
	c, err := conf.Open(rec)
	require.NoError(t, err)
	return c, vpc
}

func cpuOffer(t *testing.T, c backends.Compute) schemas.InstanceOffer {
	offers, err := c.Offers(context.Background())
	require.NoError(t, err)
	o := offers.Offers[0]
	require.Equal(t, "t3.large", o.Instance.Name)
	return o
}

func TestCreateDescribeTaggedTerminate(t *testing.T) {
	moto := mototest.URL(t)
	c, _ := launchBackend(t, moto)
	ctx := context.Background()
	cfg := backends.InstanceConfig{ProjectID: "p-1", ProjectName: "main", InstanceID: "row-1", InstanceName: "fleet-0",
		User: "admin", UserData: "#cloud-config\n", Tags: map[string]string{"team": "ml"}}
	jpd, err := c.Create(ctx, cpuOffer(t, c), cfg)
	require.NoError(t, err)
	require.Equal(t, "tester", jpd.Username)
	require.Equal(t, "us-east-1", jpd.Region)
	var st backends.InstanceState
	require.Eventually(t, func() bool {
		st, err = c.Describe(ctx, jpd)
		return err == nil && st.State == backends.StateRunning
	}, 30*time.Second, 200*time.Millisecond)
	require.True(t, strings.HasPrefix(st.PrivateIP, "10.201.7."), st.PrivateIP)
	tagged, err := c.Tagged(ctx, []string{"p-1"})
	require.NoError(t, err)
	require.Len(t, tagged, 1)
	require.Equal(t, backends.Tagged{InstanceID: jpd.InstanceID, Region: "us-east-1", ServerInstanceID: "row-1", ProjectID: "p-1",
		State: "running"}, tagged[0])
	require.NoError(t, c.Terminate(ctx, jpd))
	st, err = c.Describe(ctx, jpd)
	require.NoError(t, err)
	require.Equal(t, backends.StateGone, st.State)
	tagged, err = c.Tagged(ctx, []string{"p-1"})
	require.NoError(t, err)
	require.Empty(t, tagged)
	require.NoError(t, c.Terminate(ctx, jpd), "terminating twice is fine")
}

func TestCreateReportsCapacityAndQuota(t *testing.T) {
	moto := mototest.URL(t)
	proxy := mototest.NewProxy(t, moto, "")
	c, _ := launchBackend(t, proxy.URL)
	cfg := backends.InstanceConfig{ProjectID: "p-2", ProjectName: "main", InstanceID: "row-2", InstanceName: "f-0", UserData: "#cloud-config\n"}
	offer := cpuOffer(t, c)
	proxy.Fail(mototest.Fault{Action: "RunInstances", Code: "InsufficientInstanceCapacity",
		Message: "We currently do not have sufficient t3.large capacity in the Availability Zone you requested (us-east-1a)."})
	_, err := c.Create(context.Background(), offer, cfg)
	require.ErrorIs(t, err, backends.ErrNoCapacity)
	require.ErrorContains(t, err, "InsufficientInstanceCapacity: We currently do not have sufficient t3.large capacity")
	proxy.Clear()
	proxy.Fail(mototest.Fault{Action: "RunInstances", Code: "VcpuLimitExceeded",
		Message: "You have requested more vCPU capacity than your current vCPU limit of 0 allows."})
	_, err = c.Create(context.Background(), offer, cfg)
	require.ErrorIs(t, err, backends.ErrQuota)
	require.ErrorContains(t, err, "VcpuLimitExceeded")
}

// TestCapacityReservations: a reservation is found in the regions where it
// is active with room; a launch with it goes to its zone with its id, its
// tenancy and, for a capacity block, the capacity-block market; a full or
// unknown one gives nothing.
func TestCapacityReservations(t *testing.T) {
	moto := mototest.URL(t)
	proxy := mototest.NewProxy(t, moto, "")
	c, vpc := launchBackend(t, proxy.URL)
	ctx := context.Background()
	subs, err := mototest.EC2(t, moto, "us-east-1").DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	require.NoError(t, err)
	require.Len(t, subs.Subnets, 1)
	zone := aws.ToString(subs.Subnets[0].AvailabilityZone)
	proxy.Reserve(mototest.CapacityReservation{ID: "cr-0123456789abcdef0", Region: "us-east-1", InstanceType: "t3.large",
		Zone: zone, Available: 2, Tenancy: "dedicated"})
	proxy.Reserve(mototest.CapacityReservation{ID: "cr-0000000000000full", Region: "us-east-1", InstanceType: "t3.large",
		Zone: zone, Available: 0})
	proxy.Reserve(mototest.CapacityReservation{ID: "cr-00000000000block", Region: "us-east-1", InstanceType: "t3.large",
		Zone: zone, Available: 1, Type: "capacity-block"})
	r := c.(backends.Reserver)

	found, err := r.Reservations(ctx, "cr-0123456789abcdef0")
	require.NoError(t, err)
	require.Equal(t, []backends.Reservation{{ID: "cr-0123456789abcdef0", Region: "us-east-1", InstanceType: "t3.large", Zone: zone,
		Tenancy: "dedicated"}}, found)
	for _, id := range []string{"cr-0000000000000full", "cr-ffffffffffffffff0", "not-a-reservation"} {
		found, err := r.Reservations(ctx, id)
		require.NoError(t, err, id)
		require.Empty(t, found, "%s offers nothing", id)
	}

	id := "cr-0123456789abcdef0"
	cfg := backends.InstanceConfig{ProjectID: "p-3", ProjectName: "main", InstanceID: "row-3", InstanceName: "r-0",
		UserData: "#cloud-config\n", Reservation: &id}
	jpd, err := c.Create(ctx, cpuOffer(t, c), cfg)
	require.NoError(t, err)
	require.Equal(t, zone, aws.ToString(jpd.AvailabilityZone))
	require.Equal(t, id, aws.ToString(jpd.Reservation))
	form := proxy.Form("RunInstances")
	require.Equal(t, id, form.Get("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId"))
	require.Equal(t, "dedicated", form.Get("Placement.Tenancy"))
	require.Empty(t, form.Get("InstanceMarketOptions.MarketType"))
	require.NoError(t, c.Terminate(ctx, jpd))

	block := "cr-00000000000block"
	cfg.InstanceID, cfg.Reservation = "row-4", &block
	jpd, err = c.Create(ctx, cpuOffer(t, c), cfg)
	require.NoError(t, err)
	require.Equal(t, "capacity-block", proxy.Form("RunInstances").Get("InstanceMarketOptions.MarketType"))
	require.NoError(t, c.Terminate(ctx, jpd))

	full := "cr-0000000000000full"
	cfg.InstanceID, cfg.Reservation = "row-5", &full
	_, err = c.Create(ctx, cpuOffer(t, c), cfg)
	require.ErrorIs(t, err, backends.ErrNoCapacity)
	require.ErrorContains(t, err, "capacity reservation cr-0000000000000full has no room for a t3.large in us-east-1")
}

// TestClusterPlacementGroups: an instance of a cluster fleet goes into the
// fleet's placement group, created on first use with the cluster strategy;
// burstable types cannot go there; the group is deleted once, and deleting
// it again is fine.
func TestClusterPlacementGroups(t *testing.T) {
	moto := mototest.URL(t)
	proxy := mototest.NewProxy(t, moto, "")
	c, _ := launchBackend(t, proxy.URL)
	ctx := context.Background()
	offer := cpuOffer(t, c)
	cfg := backends.InstanceConfig{ProjectID: "p-6", ProjectName: "main", InstanceID: "row-6", InstanceName: "cl-0",
		UserData: "#cloud-config\n", PlacementGroup: "dstack-cl-0123abcd"}

	_, err := c.Create(ctx, offer, cfg)
	require.ErrorIs(t, err, backends.ErrInvalid)
	require.ErrorContains(t, err, "t3.large instances cannot go into a cluster placement group")
	require.Empty(t, proxy.PlacementGroups("us-east-1"))

	offer.Instance.Name = "c5.xlarge"
	var jpds []*schemas.JobProvisioningData
	for i := range 2 {
		cfg.InstanceID = fmt.Sprintf("row-6-%d", i)
		jpd, err := c.Create(ctx, offer, cfg)
		require.NoError(t, err)
		require.Equal(t, "dstack-cl-0123abcd", proxy.Form("RunInstances").Get("Placement.GroupName"))
		jpds = append(jpds, jpd)
	}
	require.Equal(t, map[string]string{"dstack-cl-0123abcd": "cluster"}, proxy.PlacementGroups("us-east-1"),
		"one group, made by the first launch")
	for _, jpd := range jpds {
		require.NoError(t, c.Terminate(ctx, jpd))
	}
	g := c.(backends.PlacementGrouper)
	require.NoError(t, g.DeletePlacementGroup(ctx, "dstack-cl-0123abcd", "us-east-1"))
	require.Empty(t, proxy.PlacementGroups("us-east-1"))
	require.NoError(t, g.DeletePlacementGroup(ctx, "dstack-cl-0123abcd", "us-east-1"), "a group already gone")
	proxy.Fail(mototest.Fault{Action: "DeletePlacementGroup", Code: "InvalidPlacementGroup.InUse",
		Message: "The placement group 'dstack-cl-0123abcd' is in use and may not be deleted."})
	require.ErrorIs(t, g.DeletePlacementGroup(ctx, "dstack-cl-0123abcd", "us-east-1"), backends.ErrPlacementGroupInUse)
}
