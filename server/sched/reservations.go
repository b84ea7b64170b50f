package sched

import "github.com/dstackgo/dstack/server/schemas"

// ReservationOf is the capacity reservation the constraints ask for: ""
// when none does; ok is false when two ask for different ones (nothing can
// satisfy both).
func ReservationOf(cs []Constraint) (id string, ok bool) {
	for i := range cs {
		r := cs[i].Requirements.Reservation
		if r == nil || *r == "" {
			continue
		}
		if id != "" && id != *r {
			return "", false
		}
		id = *r
	}
	return id, true
}

// Reserved is a capacity reservation with room for an instance, in one
// region of a backend.
type Reserved struct {
	Backend, Region, InstanceType, Zone string
}

// ReservedOffers keeps the offers a reservation can take, as upstream: on
// demand (spot instances cannot use a reservation), of the reserved
// instance type, in a region where the reservation is, placed in its zone.
// Order is kept; offers are copies.
func ReservedOffers(offers []schemas.InstanceOffer, rs []Reserved) []schemas.InstanceOffer {
	var out []schemas.InstanceOffer
	for _, o := range offers {
		if o.Instance.Resources.Spot {
			continue
		}
		for _, r := range rs {
			if r.Backend == o.Backend && r.Region == o.Region && r.InstanceType == o.Instance.Name {
				o.AvailabilityZones = []string{r.Zone}
				out = append(out, o)
				break
			}
		}
	}
	return out
}
