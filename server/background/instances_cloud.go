package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dstackgo/dstack/backends"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// Cloud instance timing defaults (upstream waits 10 minutes for a cloud
// instance to become ready).
const (
	defaultProvisioningTimeout = 10 * time.Minute
	defaultAgentGrace          = 3 * time.Minute
)

// CloudOptions configure the cloud side of the instances pipeline.
type CloudOptions struct {
	// ServerURL is how instances reach this server (the agent download).
	ServerURL string
	// ProvisioningTimeout bounds launch to answering agent; AgentGrace is
	// how long user data may take to start the agent before it is uploaded
	// over SSH.
	ProvisioningTimeout time.Duration
	AgentGrace          time.Duration
}

// processCloud moves a cloud instance on:
//
//	pending ──launched──▶ provisioning ──agent answers──▶ idle ⇄ busy
//	   └─every offer failed─▶ terminated      └─timeout─▶ terminating ──VM ended──▶ terminated
//	idle ──idle_duration passed, fleet above nodes.min──▶ terminating
func (p *Instances) processCloud(ctx context.Context, in *db.Instance, token string) error {
	log := p.Log.With("instance", in.Name)
	project, err := db.GetProjectByID(ctx, p.Env.DB, in.ProjectID)
	if err != nil {
		return err
	}
	switch schemas.InstanceStatus(in.Status) {
	case schemas.InstancePending:
		return p.launch(ctx, log, project, in, token)
	case schemas.InstanceProvisioning:
		return p.awaitReady(ctx, log, project, in, token)
	case schemas.InstanceTerminating:
		return p.terminateCloud(ctx, log, project, in, token)
	case schemas.InstanceIdle:
		if released, err := p.releaseIdle(ctx, log, in, token); released || err != nil {
			return err
		}
	}
	var rep sched.HostReport
	if rh, err := (services.Fleets{Env: p.Env}).RemoteHostOf(in); err != nil {
		rep.Unusable = err.Error()
	} else {
		rep = p.check(ctx, log, in, token, rh, targetOf(rh))
	}
	h := sched.Host{Status: schemas.InstanceStatus(in.Status), CreatedAt: in.CreatedAt, DeployTimeout: p.deployTimeout()}
	return p.apply(ctx, log, in, token, sched.DecideHost(h, rep, time.Now().UTC()))
}

// launch tries the offers for the instance, cheapest first, until one
// launches. Before each attempt the backend, region and agent token are
// recorded, so that a VM launched just before a crash is found by the
// orphan sweep.
func (p *Instances) launch(ctx context.Context, log *slog.Logger, project *db.Project, in *db.Instance, token string) error {
	var ls services.LaunchSpec
	if in.Requirements == nil || json.Unmarshal([]byte(*in.Requirements), &ls) != nil {
		return p.endLaunch(ctx, in, token, sched.ReasonError, "the instance has no launch requirements")
	}
	fleet := "?"
	var tags map[string]string
	var cluster *sched.ClusterPlan
	placementGroup := ""
	if in.FleetID != nil {
		if f, err := db.GetFleetByID(ctx, p.Env.DB, in.ProjectID, *in.FleetID); err == nil {
			fleet = f.Name
			var spec schemas.FleetSpec
			if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil {
				return fmt.Errorf("decode the spec of fleet %s: %w", f.Name, err)
			}
			tags = spec.Configuration.Tags
			if pl := spec.Configuration.Placement; pl != nil && *pl == schemas.FleetPlacementCluster {
				plan, err := p.clusterPlan(ctx, in)
				if err != nil {
					return err
				}
				if plan.Wait { // the fleet's first node is being launched
					_, err := db.ReleaseRow(ctx, p.Env.DB, "instances", in.ID, token, time.Now().UTC())
					return err
				}
				cluster, placementGroup = &plan, sched.PlacementGroupName(f.Name, f.ID)
			}
		}
	}
	b := services.Backends{Env: p.Env}
	offers, err := b.Offers(ctx, project.ID, ls.Sched())
	if err != nil {
		return p.finish(ctx, failed(in, err), token, "status_message")
	}
	if cluster != nil {
		offers = sched.ClusterOffers(offers, *cluster)
	}
	agentToken, hash := services.NewAgentToken()
	ud, err := sshfleet.CloudConfig(sshfleet.UserDataOptions{DownloadURL: p.Cloud.ServerURL + "/api/agent/download",
		Token: agentToken, AuthorizedKeys: []string{project.SSHPublicKey}})
	if err != nil {
		return err
	}
	cfg := backends.InstanceConfig{ProjectID: project.ID, ProjectName: project.Name, InstanceID: in.ID, InstanceName: in.Name,
		UserData: ud, Tags: tags}
	if id, _ := sched.ReservationOf(ls.Sched()); id != "" {
		cfg.Reservation = &id
	}
	tried := 0
	var errs []sched.OfferError
	for _, o := range offers {
		if tried >= sched.MaxOffersTried || ctx.Err() != nil {
			break
		}
		compute, err := b.Compute(ctx, project.ID, o.Backend)
		if err != nil {
			errs = append(errs, sched.OfferError{Instance: o.Instance.Name, Backend: o.Backend, Region: o.Region, Error: err.Error()})
			continue
		}
		cfg.PlacementGroup = ""
		if _, ok := compute.(backends.PlacementGrouper); ok {
			cfg.PlacementGroup = placementGroup
		}
		in.Backend, in.Region, in.AgentTokenHash = &o.Backend, &o.Region, &hash
		in.StatusMessage = ptr(fmt.Sprintf("launching %s in %s/%s", o.Instance.Name, o.Backend, o.Region))
		if held, err := db.WriteHeld(ctx, p.Env.DB, in, token, "backend", "region", "agent_token_hash", "status_message"); err != nil || !held {
			if err == nil {
				err = fmt.Errorf("instance %s: the lease was lost before launch", in.Name)
			}
			return err
		}
		tried++
		jpd, err := compute.Create(ctx, o, cfg)
		if err != nil {
			log.Warn("launch failed", "instance_type", o.Instance.Name, "region", o.Region, "err", err)
			errs = append(errs, sched.OfferError{Instance: o.Instance.Name, Backend: o.Backend, Region: o.Region, Error: err.Error()})
			continue
		}
		log.Info("instance launched", "instance_type", o.Instance.Name, "region", o.Region, "price", o.Price, "id", jpd.InstanceID)
		return p.launched(ctx, in, token, o, jpd)
	}
	return p.endLaunch(ctx, in, token, sched.ReasonNoOffers, sched.LaunchFailure(fleet, len(offers), tried, errs))
}

// clusterPlan is where an instance of a cluster fleet may go, from the
// fleet's other nodes.
func (p *Instances) clusterPlan(ctx context.Context, in *db.Instance) (sched.ClusterPlan, error) {
	rows, err := db.ListFleetInstances(ctx, p.Env.DB, *in.FleetID)
	if err != nil {
		return sched.ClusterPlan{}, err
	}
	nodes := make([]sched.FleetNode, len(rows))
	for i, r := range rows {
		nodes[i] = sched.FleetNode{ID: r.ID, Num: r.InstanceNum, Status: schemas.InstanceStatus(r.Status),
			Launched: r.JobProvisioningData != nil && r.Backend != nil && r.Region != nil}
		if nodes[i].Launched {
			nodes[i].Backend, nodes[i].Region = *r.Backend, *r.Region
		}
	}
	return sched.ClusterLaunch(in.ID, nodes), nil
}

func (p *Instances) launched(ctx context.Context, in *db.Instance, token string, o schemas.InstanceOffer, jpd *schemas.JobProvisioningData) error {
	total := 0
	if in.TotalBlocks != nil {
		total = *in.TotalBlocks
	} else {
		total = max(len(o.Instance.Resources.Gpus), 1)
	}
	if in.BusyBlocks > 0 { // the instance of a job: the whole of it is the job's
		in.BusyBlocks = total
	}
	o.Blocks, o.TotalBlocks = total, total
	o.Availability = schemas.AvailabilityAvailable
	if err := p.setStatus(ctx, in, token, schemas.InstanceProvisioning); err != nil {
		return err
	}
	in.TotalBlocks, in.Price = &total, &o.Price
	in.Offer, in.JobProvisioningData = ptr(mustJSON(o)), ptr(mustJSON(jpd))
	in.StatusMessage = nil
	return p.finishIf(ctx, in, token, schemas.InstancePending, "status", "total_blocks", "busy_blocks", "price", "offer",
		"job_provisioning_data", "status_message")
}

func (p *Instances) endLaunch(ctx context.Context, in *db.Instance, token, reason, msg string) error {
	in.TerminationReason, in.TerminationReasonMessage, in.StatusMessage = &reason, &msg, &msg
	if err := p.setStatus(ctx, in, token, schemas.InstanceTerminated); err != nil {
		return err
	}
	in.FinishedAt = ptr(time.Now().UTC())
	p.Log.Warn("instance not launched", "instance", in.Name, "reason", msg)
	if err := p.finishIf(ctx, in, token, schemas.InstancePending, "status", "termination_reason", "termination_reason_message",
		"status_message", "finished_at"); err != nil {
		return err
	}
	p.Env.WakeUp(services.PipelineRunning, services.PipelineFleets)
	return nil
}

// awaitReady follows a launched instance until its agent answers.
func (p *Instances) awaitReady(ctx context.Context, log *slog.Logger, project *db.Project, in *db.Instance, token string) error {
	var jpd schemas.JobProvisioningData
	if in.JobProvisioningData == nil || json.Unmarshal([]byte(*in.JobProvisioningData), &jpd) != nil || in.Backend == nil {
		return p.finish(ctx, failed(in, errors.New("the instance has no provisioning data")), token, "status_message")
	}
	compute, err := (services.Backends{Env: p.Env}).Compute(ctx, project.ID, *in.Backend)
	if err != nil {
		return p.finish(ctx, failed(in, err), token, "status_message")
	}
	cctx, cancel := withReserve(ctx)
	defer cancel()
	columns := []string{"status", "status_message", "unreachable"}
	rep := sched.CloudReport{VM: string(backends.StatePending)}
	st, err := compute.Describe(cctx, &jpd)
	var rh *services.RemoteHost
	switch {
	case err != nil:
		rep.Err = err.Error()
	case st.State == backends.StateRunning:
		rep.VM, rep.Detail = string(st.State), st.Detail
		if rh, err = p.cloudHost(project, in, &jpd, st); err != nil {
			return err
		}
		columns = append(columns, "remote_connection_info", "job_provisioning_data", "started_at")
		err := p.healthcheck(cctx, targetOf(rh))
		rep.Agent, rep.SSH = err == nil, err == nil || errors.Is(err, errShimDown)
		if err != nil {
			rep.Err = err.Error()
		}
	default:
		rep.VM, rep.Detail, rep.Err = string(st.State), st.Detail, "the instance is "+st.Detail
	}
	dec := sched.DecideCloudInstance(sched.CloudInstance{Status: schemas.InstanceStatus(in.Status), CreatedAt: in.CreatedAt,
		ProvisioningTimeout: orDefault(p.Cloud.ProvisioningTimeout, defaultProvisioningTimeout),
		AgentGrace:          orDefault(p.Cloud.AgentGrace, defaultAgentGrace), RunningSince: in.StartedAt,
		Deployed: in.HostInfo != nil, BusyBlocks: in.BusyBlocks}, rep, time.Now().UTC())
	in.StatusMessage = nil
	if dec.StatusMessage != "" {
		in.StatusMessage = &dec.StatusMessage
	}
	if dec.Deploy && rh != nil {
		log.Warn("the agent did not start from user data; uploading it over SSH")
		info, _, err := p.connectAndDeploy(cctx, log, in, token, rh, targetOf(rh), false)
		if err != nil {
			in.StatusMessage = ptr("uploading the agent over SSH failed: " + err.Error())
		} else {
			in.HostInfo, in.StatusMessage = ptr(mustJSON(info)), nil
		}
		columns = append(columns, "host_info")
	}
	switch dec.Status {
	case schemas.InstanceIdle, schemas.InstanceBusy:
		if err := p.setStatus(ctx, in, token, dec.Status); err != nil {
			return err
		}
		in.Unreachable = false
		log.Info("instance ready", "status", dec.Status)
		defer p.Env.WakeUp(services.PipelineRunning, services.PipelineJobs)
	case schemas.InstanceTerminating, schemas.InstanceTerminated:
		in.TerminationReason, in.TerminationReasonMessage = &dec.TerminationReason, &dec.TerminationMessage
		if err := p.setStatus(ctx, in, token, dec.Status); err != nil {
			return err
		}
		columns = append(columns, "termination_reason", "termination_reason_message")
		if dec.Status == schemas.InstanceTerminated {
			in.FinishedAt = ptr(time.Now().UTC())
			columns = append(columns, "finished_at")
		}
		log.Warn("instance given up", "reason", dec.TerminationReason, "message", dec.TerminationMessage)
		defer p.Env.WakeUp(services.PipelineInstances, services.PipelineRunning)
	}
	return p.finishIf(ctx, in, token, schemas.InstanceProvisioning, columns...)
}

// cloudHost records how to reach a running instance, once.
func (p *Instances) cloudHost(project *db.Project, in *db.Instance, jpd *schemas.JobProvisioningData, st backends.InstanceState) (*services.RemoteHost, error) {
	if in.RemoteConnectionInfo != nil {
		return (services.Fleets{Env: p.Env}).RemoteHostOf(in)
	}
	addr := st.PrivateIP
	if jpd.PublicIPEnabled && st.PublicIP != "" {
		addr = st.PublicIP
	}
	blocks := 1
	if in.TotalBlocks != nil {
		blocks = *in.TotalBlocks
	}
	rh, err := services.CloudHost(p.Env, project, in, addr, jpd.Username, blocks)
	if err != nil {
		return nil, err
	}
	jpd.Hostname, jpd.InternalIP, jpd.SSHPort = &addr, &st.PrivateIP, ptr(22)
	if st.Zone != "" {
		jpd.AvailabilityZone = &st.Zone
	}
	in.JobProvisioningData = ptr(mustJSON(jpd))
	in.StartedAt = ptr(time.Now().UTC())
	return rh, nil
}

// terminateCloud ends the VM (when one was launched) and the instance.
func (p *Instances) terminateCloud(ctx context.Context, log *slog.Logger, project *db.Project, in *db.Instance, token string) error {
	if in.JobProvisioningData != nil && in.Backend != nil {
		var jpd schemas.JobProvisioningData
		if err := json.Unmarshal([]byte(*in.JobProvisioningData), &jpd); err != nil {
			// Trying again cannot help: say so where the user looks, and
			// end the instance so that its fleet can end too.
			msg := fmt.Sprintf("The instance's VM in %s was not terminated: its provisioning data cannot be read (%v);"+
				" end it in the cloud provider's console", *in.Backend, err)
			log.Error("could not terminate the instance's VM", "err", err)
			in.Events.Record(db.PendingEvent{Message: func() string { return msg }, RecordedAt: time.Now().UTC().Truncate(time.Microsecond)})
		} else {
			compute, err := (services.Backends{Env: p.Env}).Compute(ctx, project.ID, *in.Backend)
			if err == nil {
				err = compute.Terminate(ctx, &jpd)
			}
			if err != nil {
				log.Warn("could not terminate the instance; trying again", "err", err)
				return p.finish(ctx, failed(in, err), token, "status_message")
			}
			log.Info("instance terminated", "id", jpd.InstanceID)
		}
	}
	if rh, err := (services.Fleets{Env: p.Env}).RemoteHostOf(in); err == nil {
		p.Pool.Evict(targetOf(rh))
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeReserve)
		_ = p.HostKeys.Forget(fctx, rh.Hostname, rh.Port, "", in.ID)
		cancel()
	}
	if err := p.setStatus(ctx, in, token, schemas.InstanceTerminated); err != nil {
		return err
	}
	in.FinishedAt = ptr(time.Now().UTC())
	in.Deleted = true
	if err := p.finish(ctx, in, token, "status", "finished_at", "deleted"); err != nil {
		return err
	}
	p.Env.WakeUp(services.PipelineFleets, services.PipelineRunning)
	return nil
}

// releaseIdle terminates an instance idle longer than its fleet's
// idle_duration while the fleet is above nodes.min.
func (p *Instances) releaseIdle(ctx context.Context, log *slog.Logger, in *db.Instance, token string) (bool, error) {
	if in.FleetID == nil || in.StartedAt == nil {
		return false, nil
	}
	f, err := db.GetFleetByID(ctx, p.Env.DB, in.ProjectID, *in.FleetID)
	if err != nil {
		return false, err
	}
	var spec schemas.FleetSpec
	if err := json.Unmarshal([]byte(f.Spec), &spec); err != nil {
		return false, err
	}
	min := 0
	if n := spec.Configuration.Nodes; n != nil {
		min = n.Min
	}
	fleets, _, err := services.CloudFleets(ctx, p.Env, in.ProjectID)
	if err != nil {
		return false, err
	}
	active := 0
	for _, cf := range fleets {
		if cf.FleetID == f.ID {
			active = cf.Active
		}
	}
	idleSince := *in.StartedAt
	var last db.Job
	err = p.Env.DB.NewSelect().Model(&last).Column("id", "finished_at").Where("used_instance_id = ?", in.ID).
		Where("finished_at IS NOT NULL").OrderExpr("finished_at DESC").Limit(1).Scan(ctx)
	if err == nil && last.FinishedAt != nil && last.FinishedAt.After(idleSince) {
		idleSince = *last.FinishedAt
	}
	idle := spec.Configuration.ProfileParams().ResolvedIdleDuration(schemas.DefaultFleetIdleDuration)
	release, msg := sched.IdleRelease(idleSince, idle, active, min, time.Now().UTC())
	if !release {
		return false, nil
	}
	log.Info("releasing idle instance", "reason", msg)
	in.TerminationReason, in.TerminationReasonMessage = ptr(sched.ReasonIdleTimeout), &msg
	if err := p.setStatus(ctx, in, token, schemas.InstanceTerminating); err != nil {
		return true, err
	}
	return true, p.finishIf(ctx, in, token, schemas.InstanceIdle, "status", "termination_reason", "termination_reason_message")
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// failed records err as the instance's status message.
func failed(in *db.Instance, err error) *db.Instance {
	msg := err.Error()
	in.StatusMessage = &msg
	return in
}
