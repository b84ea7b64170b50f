package mototest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// Behavior is what an emulated VM does once moto runs its instance.
type Behavior int

// Behaviors of emulated VMs.
const (
	// VMBoots brings a host up at the instance's private IP and runs its
	// user data there as cloud-init would.
	VMBoots Behavior = iota
	// VMUnreachable brings nothing up: the instance never answers.
	VMUnreachable
	// VMKeysOnly brings the host up with the user data's keys but without
	// running its commands (a startup script that failed).
	VMKeysOnly
)

// VMs emulates the VMs of the instances moto runs in a subnet: for each
// running instance whose private IP is in subnet, an sshtest host at that
// IP, logging in user (the image's user), set up from the instance's user
// data. A host goes when its instance is terminated.
type VMs struct {
	t      testing.TB
	ec2    *ec2.Client
	subnet *sshtest.Subnet
	user   string
	behave func(n int, in types.Instance) Behavior

	mu     sync.Mutex
	hosts  map[string]*sshtest.Host
	seen   map[string]bool
	booted int
	errs   []error
}

// StartVMs watches the client's region until cleanup. behave (nil: every
// VM boots) decides what the n-th instance (0-based, in the order seen) does.
func StartVMs(t testing.TB, c *ec2.Client, subnet *sshtest.Subnet, user string, behave func(int, types.Instance) Behavior) *VMs {
	v := &VMs{t: t, ec2: c, subnet: subnet, user: user, behave: behave, hosts: map[string]*sshtest.Host{}, seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			v.poll(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, e := range v.Errors() {
			t.Errorf("emulated VMs: %v", e)
		}
	})
	return v
}

// Host is the emulated VM of an instance (nil when none).
func (v *VMs) Host(instanceID string) *sshtest.Host {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hosts[instanceID]
}

// Errors are the failures of setting VMs up so far.
func (v *VMs) Errors() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]error(nil), v.errs...)
}

func (v *VMs) poll(ctx context.Context) {
	out, err := v.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		return
	}
	pfx := netip.MustParsePrefix(v.subnet.CIDR)
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			id := aws.ToString(in.InstanceId)
			ip, err := netip.ParseAddr(aws.ToString(in.PrivateIpAddress))
			if err != nil || !pfx.Contains(ip) || in.State == nil {
				continue
			}
			switch in.State.Name {
			case types.InstanceStateNameRunning:
				v.boot(ctx, id, in)
			case types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated, types.InstanceStateNameStopped:
				v.mu.Lock()
				h := v.hosts[id]
				delete(v.hosts, id)
				v.mu.Unlock()
				if h != nil {
					h.Close()
				}
			}
		}
	}
}

func (v *VMs) boot(ctx context.Context, id string, in types.Instance) {
	v.mu.Lock()
	if v.seen[id] {
		v.mu.Unlock()
		return
	}
	v.seen[id] = true
	n := v.booted
	v.booted++
	v.mu.Unlock()
	b := VMBoots
	if v.behave != nil {
		b = v.behave(n, in)
	}
	if b == VMUnreachable {
		return
	}
	fail := func(err error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.errs = append(v.errs, fmt.Errorf("instance %s: %w", id, err))
	}
	attr, err := v.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: in.InstanceId,
		Attribute: types.InstanceAttributeNameUserData})
	if err != nil || attr.UserData == nil {
		fail(fmt.Errorf("read user data: %v", err))
		return
	}
	ud, err := base64.StdEncoding.DecodeString(aws.ToString(attr.UserData.Value))
	if err != nil {
		fail(fmt.Errorf("decode user data: %w", err))
		return
	}
	h := sshtest.NewHost(v.t, sshtest.Options{Subnet: v.subnet, Addr: aws.ToString(in.PrivateIpAddress), User: v.user})
	v.mu.Lock()
	v.hosts[id] = h
	v.mu.Unlock()
	if err := h.RunCloudInit(string(ud), b == VMKeysOnly); err != nil {
		fail(err)
	}
}
