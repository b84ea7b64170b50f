package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/dstackgo/dstack/backends"
)

// reservationsTTL is how long a reservation lookup is reused: offers are
// asked for on every scheduling pass.
const reservationsTTL = time.Minute

type reservationsLookup struct {
	at    time.Time
	found []backends.Reservation
}

// Reservations implements backends.Reserver: the reservation's instance
// type and zone in each configured region where it is active and has room
// for one instance (as upstream, a reservation that is full, unknown or
// malformed offers nothing there).
func (c *compute) Reservations(ctx context.Context, id string) ([]backends.Reservation, error) {
	c.mu.Lock()
	if l, ok := c.reservations[id]; ok && time.Since(l.at) < reservationsTTL {
		c.mu.Unlock()
		return l.found, nil
	}
	c.mu.Unlock()
	var mu sync.Mutex
	var found []backends.Reservation
	var errs []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(12)
	for _, region := range c.cfg.regions() {
		g.Go(func() error {
			r, err := reservation(gctx, c.s.EC2(region), id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("capacity reservation %s in %s: %s", id, region, reason(err)))
			case r != nil:
				r.Region = region
				found = append(found, *r)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.reservations[id] = reservationsLookup{at: time.Now(), found: found}
	c.mu.Unlock()
	return found, nil
}

// reservation looks the reservation up in one region: nil when it does not
// exist there, is not active, or is full.
func reservation(ctx context.Context, client *ec2.Client, id string) (*backends.Reservation, error) {
	out, err := client.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{id},
		Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"active"}}}})
	switch code, _ := apiError(err); code {
	case "InvalidCapacityReservationId.NotFound", "InvalidCapacityReservationId.Malformed":
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, cr := range out.CapacityReservations {
		if aws.ToInt32(cr.AvailableInstanceCount) < 1 {
			return nil, nil
		}
		return &backends.Reservation{ID: id, InstanceType: aws.ToString(cr.InstanceType), Zone: aws.ToString(cr.AvailabilityZone),
			Tenancy: string(cr.Tenancy), CapacityBlock: cr.ReservationType == types.CapacityReservationTypeCapacityBlock}, nil
	}
	return nil, nil
}
