package mototest

import (
	"fmt"
	"net/http"
	"net/url"
)

// PlacementGroups are the placement groups the proxy emulates (moto has
// none), by region and name, with their strategy.
func (p *Proxy) PlacementGroups(region string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.groups {
		if k[0] == region {
			out[k[1]] = v
		}
	}
	return out
}

// placementGroup answers the placement group actions as EC2 does; it
// reports whether it answered. A RunInstances into an unknown group is
// refused; one into a known group goes on to moto without the group.
func (p *Proxy) placementGroup(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	region := signedRegion(r.Header.Get("Authorization"))
	name := form.Get("GroupName")
	p.mu.Lock()
	if p.groups == nil {
		p.groups = map[[2]string]string{}
	}
	key := [2]string{region, name}
	_, exists := p.groups[key]
	action := form.Get("Action")
	switch action {
	case "CreatePlacementGroup":
		if !exists {
			p.groups[key] = form.Get("Strategy")
		}
	case "DeletePlacementGroup":
		delete(p.groups, key)
	case "RunInstances":
		key = [2]string{region, form.Get("Placement.GroupName")}
		_, exists = p.groups[key]
	}
	p.mu.Unlock()
	switch {
	case action == "CreatePlacementGroup" && exists:
		writeFault(w, action, &Fault{Code: "InvalidPlacementGroup.Duplicate", Message: fmt.Sprintf("The Placement Group '%s' already exists.", name)})
	case action == "DeletePlacementGroup" && !exists:
		writeFault(w, action, &Fault{Code: "InvalidPlacementGroup.Unknown", Message: fmt.Sprintf("The Placement Group '%s' is unknown.", name)})
	case action == "CreatePlacementGroup" || action == "DeletePlacementGroup":
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>mototest</requestId><return>true</return></%sResponse>`, action, action)
	case action == "RunInstances" && form.Get("Placement.GroupName") != "" && !exists:
		writeFault(w, action, &Fault{Code: "InvalidPlacementGroup.Unknown", Message: fmt.Sprintf("The Placement Group '%s' is unknown.", key[1])})
	default:
		return false
	}
	return true
}
