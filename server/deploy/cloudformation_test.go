package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/mototest"
)

// stackScript drives moto with boto3 (installed with moto): a VPC with two
// private subnets, the template validated, two stacks created (a generated
// token without Litestream; a given token with a Litestream bucket), their
// outputs read back and the service, load balancer and log groups looked up.
// (moto accepts the Secrets Manager secret but does not create it, so the
// token itself is not read back here.)
const stackScript = `
import json, sys, boto3
ep, body = sys.argv[1], open(sys.argv[2]).read()
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
ec2, cfn, s3, ecs, elb, logs = (boto3.client(s, **kw) for s in ("ec2", "cloudformation", "s3", "ecs", "elbv2", "logs"))
vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)["Subnet"]["SubnetId"]
           for c, z in (("10.20.1.0/24", "us-east-1a"), ("10.20.2.0/24", "us-east-1b"))]
s3.create_bucket(Bucket="dstack-state")
cfn.validate_template(TemplateBody=body)
out = {}
for name, extra in (("generated", []), ("given", [
        {"ParameterKey": "AdminToken", "ParameterValue": "given-admin-token"},
        {"ParameterKey": "LitestreamBucket", "ParameterValue": "dstack-state"}])):
    params = [{"ParameterKey": "VpcId", "ParameterValue": vpc},
              {"ParameterKey": "PrivateSubnetIds", "ParameterValue": ",".join(subnets)},
              {"ParameterKey": "Version", "ParameterValue": "0.2.0"}] + extra
    cfn.create_stack(StackName="dstack-" + name, TemplateBody=body, Parameters=params, Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName="dstack-" + name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    stack = cfn.describe_stacks(StackName="dstack-" + name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    services = ecs.describe_services(cluster="dstack-" + name, services=ecs.list_services(cluster="dstack-" + name)["serviceArns"])["services"]
    lbs = [lb for lb in elb.describe_load_balancers()["LoadBalancers"] if "http://" + lb["DNSName"] == outputs["ServerUrl"]]
    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/dstack/dstack-" + name)["logGroups"]]
    out[name] = {"status": stack["StackStatus"], "outputs": outputs, "groups": groups,
                 "services": [{"desired": s["desiredCount"], "task": ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]} for s in services],
                 "schemes": [lb["Scheme"] for lb in lbs]}
print(json.dumps(out))
`

func TestCloudFormationStackOnMoto(t *testing.T) {
	endpoint := mototest.Start(t)
	script := filepath.Join(t.TempDir(), "stack.py")
	require.NoError(t, os.WriteFile(script, []byte(stackScript), 0o600))
	cmd := exec.Command("python3", script, endpoint, "cloudformation.yaml")
	cmd.Env = mototest.ClientEnv(os.Environ())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())

	type stack struct {
		Status   string            `json:"status"`
		Outputs  map[string]string `json:"outputs"`
		Groups   []string          `json:"groups"`
		Services []struct {
			Desired int `json:"desired"`
			Task    struct {
				Containers []struct {
					Image string `json:"image"`
					Env   []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"environment"`
				} `json:"containerDefinitions"`
			} `json:"task"`
		} `json:"services"`
		Schemes []string `json:"schemes"`
	}
	var got struct {
		Generated stack `json:"generated"`
		Given     stack `json:"given"`
	}
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	for name, s := range map[string]stack{"generated": got.Generated, "given": got.Given} {
		require.Equal(t, "CREATE_COMPLETE", s.Status, name)
		require.True(t, strings.HasPrefix(s.Outputs["ServerUrl"], "http://"), "%s: ServerUrl %q", name, s.Outputs["ServerUrl"])
		require.Equal(t, "dstack-"+name+"-admin-token", s.Outputs["AdminTokenSecret"], name)
		require.Contains(t, s.Outputs["AdminTokenCommand"], "aws secretsmanager get-secret-value --region us-east-1 --secret-id dstack-"+name+"-admin-token", name)
		require.ElementsMatch(t, []string{"/dstack/dstack-" + name + "/server", "/dstack/dstack-" + name + "/jobs"}, s.Groups, name)
		require.Len(t, s.Services, 1, name)
		require.Equal(t, 1, s.Services[0].Desired, name)
		task := s.Services[0].Task
		require.Len(t, task.Containers, 1, name)
		require.Equal(t, "dstackgo/dstack:0.2.0", task.Containers[0].Image, name)
		env := map[string]string{}
		for _, e := range task.Containers[0].Env {
			env[e.Name] = e.Value
		}
		require.Equal(t, "/dstack/dstack-"+name+"/jobs", env["DSTACK_SERVER_CLOUDWATCH_LOG_GROUP"], name)
		require.Equal(t, s.Outputs["ServerUrl"], env["DSTACK_SERVER_URL"], name)
		replica := map[string]string{"generated": "", "given": "s3://dstack-state/dstack?region=us-east-1"}[name]
		require.Equal(t, replica, env["LITESTREAM_REPLICA_URL"], name)
		require.Equal(t, []string{"internal"}, s.Schemes, name)
		t.Logf("%s: %v", name, s.Outputs)
	}
}
