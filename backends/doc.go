// Package backends is where the server's compute comes from: the Compute
// interface every cloud backend implements, the Configurator that checks a
// backend's configuration and opens it, and the errors a launch reports.
//
// The pipelines never call a cloud directly. They ask Compute for offers
// (the catalog's instance types the account can launch, with prices), for
// one instance from an offer (Create), for where a launched instance is
// (Describe: still starting, running with its addresses, or gone), to end
// it (Terminate), and for every instance it runs for the server's projects
// (Tagged: adoption after a crash, orphan sweeps). An instance is identified
// by its provisioning data (schemas.JobProvisioningData: instance id,
// region, zone, backend_data), so what a backend needs to find its
// instance again travels with the instance row. Once an instance has an
// address, the server reaches it over SSH exactly as it reaches SSH fleet
// hosts; the agent gets there by user data (InstanceConfig.UserData), which
// fetches this server's own binary, with an SSH upload as the fallback.
//
// How the other clouds fit, each behind the same five calls:
//
//   - GCP: offers from the gpuhunt "gcp" catalog filtered by the zones the
//     project can use (compute.zones.list, machine type availability);
//     Create is instances.insert in a zone with the startup script as
//     metadata `user-data` and labels for the tags; Describe reads the
//     instance's status and network interfaces; Tagged lists by label.
//     Needs a service account key (JSON) or default credentials, a project
//     id, optionally a VPC and subnetwork per region.
//   - Azure: the "azure" catalog per location; Create makes a VM (with a
//     NIC and optional public IP) in a resource group from an image with
//     custom data; Describe reads its power state and IPs; Tagged filters
//     the resource group by tags. Needs tenant, client id/secret or default
//     credentials, a subscription, a resource group (created on configure)
//     and per-location networks.
//   - Lambda: the "lambdalabs" catalog narrowed by instance-types
//     availability per region; Create launches with an SSH key registered
//     through the API (Lambda has no user data: the agent goes over SSH,
//     the fallback path); Describe/Terminate by instance id; Tagged by the
//     instance name prefix. Needs an API key.
//   - RunPod and Vast.ai: containers, not VMs. Offers come from their live
//     APIs (vastai is an online provider in gpuhunt); Create starts a pod or
//     instance from an image whose entrypoint starts `dstack shim`
//     (InstanceConfig.UserData becomes the start command, the image must
//     have curl or wget); the SSH endpoint is a mapped port
//     (JobProvisioningData.ssh_port, possibly an ssh_proxy). Need an API key.
//   - Kubernetes: offers from the cluster's nodes (allocatable CPU, memory,
//     GPUs), no catalog; Create makes a pod with the agent's image and a
//     service for SSH (a jump pod when nodes are not reachable); Describe
//     reads the pod phase and IP; Tagged lists by labels. Needs a
//     kubeconfig and a namespace.
//
// What only some clouds have is an interface a Compute may also implement,
// so that backends without it need not change: Reserver (capacity
// reservations: runs and fleets with `reservation:` get offers only from
// backends that have it) and PlacementGrouper (placement groups for the
// nodes of `placement: cluster` fleets, deleted with the fleet). Volumes and
// gateways will be two more (upstream's ComputeWithVolumeSupport and
// ComputeWithGatewaySupport).
package backends
