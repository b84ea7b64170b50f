package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/backends/catalog"
	"github.com/dstackgo/dstack/server/schemas"
)

// Disk sizes an EBS root volume can have (upstream's configurable range).
const (
	diskMinGB = 100
	diskMaxGB = 16 * 1024
)

// offeringsTTL is how long a region's launchable instance types are reused.
const offeringsTTL = 10 * time.Minute

// supportedFamilies are the instance families upstream provisions (others
// need `experimental_instance_types`).
var supportedFamilies = []string{"m7i.", "c7i.", "r7i.", "t3.", "t2.small", "c5.", "m5.", "p6-b300.", "p6-b200.", "p5.",
	"p5e.", "p5en.", "p4d.", "p4de.", "g7.", "g7e.", "g6.", "g6e.", "gr6.", "g5.", "g4dn."}

// compute is an opened AWS backend.
type compute struct {
	cfg     Config
	s       *session
	catalog *catalog.Catalog

	mu        sync.Mutex
	offerings map[string]regionOfferings // region → launchable types
	offers    *backends.Offers
	offersKey string
	sgs       map[string]string // region/vpc → security group id
	// reservations are recent capacity reservation lookups, by id.
	reservations map[string]reservationsLookup
}

type regionOfferings struct {
	types map[string]bool
	at    time.Time
}

// Open implements backends.Configurator.
func (c *Configurator) Open(rec *backends.Record) (backends.Compute, error) {
	var cfg Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return nil, fmt.Errorf("decode stored AWS configuration: %w", err)
	}
	var creds Creds
	if err := json.Unmarshal(rec.Auth, &creds); err != nil {
		return nil, fmt.Errorf("decode stored AWS credentials: %w", err)
	}
	s, err := newSession(context.Background(), c.opts, &creds)
	if err != nil {
		return nil, err
	}
	return &compute{cfg: cfg, s: s, catalog: c.catalog, offerings: map[string]regionOfferings{}, sgs: map[string]string{},
		reservations: map[string]reservationsLookup{}}, nil
}

// Type implements backends.Compute.
func (c *compute) Type() string { return Type }

// Offers implements backends.Compute: the catalog's supported instance
// types in the configured regions, narrowed to those each region offers the
// account. A region whose offerings cannot be read contributes nothing this
// time; the error says which.
func (c *compute) Offers(ctx context.Context) (*backends.Offers, error) {
	cat := c.catalog.Get("aws")
	regions := c.cfg.regions()
	avail, stamp, err := c.launchable(ctx, regions)
	key := cat.Version + "/" + stamp
	c.mu.Lock()
	if c.offers != nil && c.offersKey == key {
		o := c.offers
		c.mu.Unlock()
		return o, err
	}
	c.mu.Unlock()
	inRegion := map[string]bool{}
	for _, r := range regions {
		inRegion[r] = true
	}
	experimental := map[string]bool{}
	for _, t := range c.cfg.ExperimentalInstanceTypes {
		experimental[t] = true
	}
	var offers []schemas.InstanceOffer
	for _, o := range cat.Offers(Type) {
		if !inRegion[o.Region] || !avail[o.Region][o.Instance.Name] {
			continue
		}
		if !experimental[o.Instance.Name] && !supported(o.Instance.Name) {
			continue
		}
		offers = append(offers, o)
	}
	res := &backends.Offers{Version: key, Offers: offers, DiskMinGB: diskMinGB, DiskMaxGB: diskMaxGB}
	c.mu.Lock()
	c.offers, c.offersKey = res, key
	c.mu.Unlock()
	return res, err
}

func supported(name string) bool {
	for _, f := range supportedFamilies {
		if strings.HasPrefix(name, f) {
			return true
		}
	}
	return false
}

// launchable returns each region's launchable instance types (cached for
// offeringsTTL) and a stamp that changes when any of them was re-read.
func (c *compute) launchable(ctx context.Context, regions []string) (map[string]map[string]bool, string, error) {
	now := time.Now()
	out := map[string]map[string]bool{}
	var stale []string
	var stamp strings.Builder
	c.mu.Lock()
	for _, r := range regions {
		if ro, ok := c.offerings[r]; ok && now.Sub(ro.at) < offeringsTTL {
			out[r] = ro.types
		} else {
			stale = append(stale, r)
		}
	}
	c.mu.Unlock()
	var mu sync.Mutex
	var errs []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(12)
	for _, r := range stale {
		g.Go(func() error {
			types, err := describeOfferings(gctx, c.s.EC2(r))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("instance types offered in %s: %s", r, reason(err)))
				return nil
			}
			out[r] = types
			return nil
		})
	}
	_ = g.Wait()
	c.mu.Lock()
	for _, r := range stale {
		if t, ok := out[r]; ok {
			c.offerings[r] = regionOfferings{types: t, at: now}
		}
	}
	for _, r := range regions {
		fmt.Fprintf(&stamp, "%s@%d,", r, c.offerings[r].at.UnixNano())
	}
	c.mu.Unlock()
	return out, stamp.String(), errors.Join(errs...)
}

func describeOfferings(ctx context.Context, c *ec2.Client) (map[string]bool, error) {
	out := map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(c, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: types.LocationTypeRegion})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.InstanceTypeOfferings {
			out[string(o.InstanceType)] = true
		}
	}
	return out, nil
}

// Describe implements backends.Compute.
func (c *compute) Describe(ctx context.Context, jpd *schemas.JobProvisioningData) (backends.InstanceState, error) {
	out, err := c.s.EC2(jpd.Region).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{jpd.InstanceID}})
	if code, _ := apiError(err); code == "InvalidInstanceID.NotFound" {
		// Eventual consistency: a just-launched instance may not be listed yet.
		return backends.InstanceState{State: backends.StatePending, Detail: "not visible yet", InstanceID: jpd.InstanceID}, nil
	}
	if err != nil {
		return backends.InstanceState{}, fmt.Errorf("describe instance %s in %s: %s", jpd.InstanceID, jpd.Region, reason(err))
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			return stateOf(&in), nil
		}
	}
	return backends.InstanceState{State: backends.StatePending, Detail: "not visible yet", InstanceID: jpd.InstanceID}, nil
}

func stateOf(in *types.Instance) backends.InstanceState {
	st := backends.InstanceState{InstanceID: aws.ToString(in.InstanceId), PublicIP: aws.ToString(in.PublicIpAddress),
		PrivateIP: aws.ToString(in.PrivateIpAddress)}
	if in.Placement != nil {
		st.Zone = aws.ToString(in.Placement.AvailabilityZone)
	}
	if in.State != nil {
		st.Detail = string(in.State.Name)
	}
	switch st.Detail {
	case "pending":
		st.State = backends.StatePending
	case "running":
		st.State = backends.StateRunning
	default:
		st.State = backends.StateGone
	}
	return st
}

// Terminate implements backends.Compute.
func (c *compute) Terminate(ctx context.Context, jpd *schemas.JobProvisioningData) error {
	_, err := c.s.EC2(jpd.Region).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{jpd.InstanceID}})
	if code, _ := apiError(err); code == "InvalidInstanceID.NotFound" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminate instance %s in %s: %s", jpd.InstanceID, jpd.Region, reason(err))
	}
	return nil
}

// Tagged implements backends.Compute: live instances (pending, running,
// stopping, stopped) with a TagProjectID of projectIDs, in every
// configured region.
func (c *compute) Tagged(ctx context.Context, projectIDs []string) ([]backends.Tagged, error) {
	if len(projectIDs) == 0 {
		return nil, nil
	}
	var mu sync.Mutex
	var out []backends.Tagged
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(12)
	for _, r := range c.cfg.regions() {
		g.Go(func() error {
			p := ec2.NewDescribeInstancesPaginator(c.s.EC2(r), &ec2.DescribeInstancesInput{Filters: []types.Filter{
				{Name: aws.String("tag:" + backends.TagProjectID), Values: projectIDs},
				{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
			}})
			for p.HasMorePages() {
				page, err := p.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("list instances in %s: %s", r, reason(err))
				}
				mu.Lock()
				for _, res := range page.Reservations {
					for _, in := range res.Instances {
						t := backends.Tagged{InstanceID: aws.ToString(in.InstanceId), Region: r}
						if in.State != nil {
							t.State = string(in.State.Name)
						}
						for _, tag := range in.Tags {
							switch aws.ToString(tag.Key) {
							case backends.TagInstanceID:
								t.ServerInstanceID = aws.ToString(tag.Value)
							case backends.TagProjectID:
								t.ProjectID = aws.ToString(tag.Value)
							}
						}
						out = append(out, t)
					}
				}
				mu.Unlock()
			}
			return nil
		})
	}
	return out, g.Wait()
}
