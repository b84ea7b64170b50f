package sched

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestReservationOf(t *testing.T) {
	a, b := "cr-a", "cr-b"
	with := func(r *string) Constraint { return Constraint{Requirements: schemas.Requirements{Reservation: r}} }
	for _, tt := range []struct {
		name string
		cs   []Constraint
		id   string
		ok   bool
	}{
		{"none", []Constraint{with(nil), with(nil)}, "", true},
		{"the fleet's", []Constraint{with(&a), with(nil)}, "cr-a", true},
		{"the job's", []Constraint{with(nil), with(&a)}, "cr-a", true},
		{"the same twice", []Constraint{with(&a), with(&a)}, "cr-a", true},
		{"two different", []Constraint{with(&a), with(&b)}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := ReservationOf(tt.cs)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, tt.ok, ok)
		})
	}
}

func TestReservedOffers(t *testing.T) {
	offer := func(backend, region, name string, spot bool) schemas.InstanceOffer {
		o := schemas.InstanceOffer{Backend: backend, Region: region, AvailabilityZones: []string{region + "a", region + "b"}}
		o.Instance.Name, o.Instance.Resources.Spot = name, spot
		return o
	}
	offers := []schemas.InstanceOffer{
		offer("aws", "us-east-1", "t3.large", false),
		offer("aws", "us-east-1", "p4d.24xlarge", true),
		offer("aws", "us-east-1", "p4d.24xlarge", false),
		offer("aws", "us-west-2", "p4d.24xlarge", false),
		offer("gcp", "us-east-1", "p4d.24xlarge", false),
	}
	got := ReservedOffers(offers, []Reserved{{Backend: "aws", Region: "us-east-1", InstanceType: "p4d.24xlarge", Zone: "us-east-1b"}})
	require.Len(t, got, 1, "only the on-demand offer of the reserved type, backend and region")
	assert.Equal(t, "p4d.24xlarge", got[0].Instance.Name)
	assert.False(t, got[0].Instance.Resources.Spot)
	assert.Equal(t, []string{"us-east-1b"}, got[0].AvailabilityZones, "placed in the reservation's zone")
	assert.Equal(t, []string{"us-east-1a", "us-east-1b"}, offers[2].AvailabilityZones, "the input is not modified")
	assert.Empty(t, ReservedOffers(offers, nil), "no reservation with room: no offers")
}
