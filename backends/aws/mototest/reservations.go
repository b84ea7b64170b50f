package mototest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CapacityReservation is an EC2 capacity reservation the proxy answers
// DescribeCapacityReservations with (moto has no capacity reservations).
type CapacityReservation struct {
	ID, Region, InstanceType, Zone string
	Available                      int
	// Tenancy is "default" when empty; Type is "default" or "capacity-block".
	Tenancy, Type string
	// State is "active" when empty.
	State string
}

// Reserve makes the proxy know r.
func (p *Proxy) Reserve(r CapacityReservation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reservations = append(p.reservations, r)
}

// Form returns the form of the last request of action that went through.
func (p *Proxy) Form(action string) url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forms[action]
}

// describeReservations answers DescribeCapacityReservations of the region
// the request is signed for, as EC2 does: an unknown id is an error, a
// malformed one another, and the filters on state and instance type apply.
func (p *Proxy) describeReservations(w http.ResponseWriter, r *http.Request, form url.Values) {
	region := signedRegion(r.Header.Get("Authorization"))
	ids := indexed(form, "CapacityReservationId")
	filters := map[string][]string{}
	for i := 1; form.Get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
		filters[form.Get(fmt.Sprintf("Filter.%d.Name", i))] = indexed(form, fmt.Sprintf("Filter.%d.Value", i))
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "cr-") {
			writeFault(w, "DescribeCapacityReservations", &Fault{Code: "InvalidCapacityReservationId.Malformed",
				Message: fmt.Sprintf("Invalid id: %q (expecting \"cr-...\")", id)})
			return
		}
	}
	p.mu.Lock()
	var found []CapacityReservation
	known := map[string]bool{}
	for _, res := range p.reservations {
		if res.Region != region {
			continue
		}
		known[res.ID] = true
		if len(ids) > 0 && !slices.Contains(ids, res.ID) {
			continue
		}
		if v, ok := filters["state"]; ok && !slices.Contains(v, orDefault(res.State, "active")) {
			continue
		}
		if v, ok := filters["instance-type"]; ok && !slices.Contains(v, res.InstanceType) {
			continue
		}
		found = append(found, res)
	}
	p.mu.Unlock()
	for _, id := range ids {
		if !known[id] {
			writeFault(w, "DescribeCapacityReservations", &Fault{Code: "InvalidCapacityReservationId.NotFound",
				Message: fmt.Sprintf("The capacity reservation ID '%s' does not exist", id)})
			return
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeCapacityReservationsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>mototest</requestId><capacityReservationSet>`)
	for _, res := range found {
		fmt.Fprintf(&b, `<item><capacityReservationId>%s</capacityReservationId><instanceType>%s</instanceType>`+
			`<availabilityZone>%s</availabilityZone><availableInstanceCount>%d</availableInstanceCount><totalInstanceCount>%d</totalInstanceCount>`+
			`<state>%s</state><tenancy>%s</tenancy><reservationType>%s</reservationType><instancePlatform>Linux/UNIX</instancePlatform></item>`,
			res.ID, res.InstanceType, res.Zone, res.Available, res.Available, orDefault(res.State, "active"),
			orDefault(res.Tenancy, "default"), orDefault(res.Type, "default"))
	}
	b.WriteString(`</capacityReservationSet></DescribeCapacityReservationsResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(b.String()))
}

// indexed reads a query-protocol list: name.1, name.2, …
func indexed(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(fmt.Sprintf("%s.%d", name, i)); i++ {
		out = append(out, form.Get(fmt.Sprintf("%s.%d", name, i)))
	}
	return out
}

// signedRegion is the region of a SigV4 Authorization header's scope.
func signedRegion(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
