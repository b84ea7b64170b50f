package cli_test

// Volumes, gateways, exports and imports through the official CLI: a
// project exports its SSH fleet to another, which sees it in `fleet` and
// `offer` and runs a task on it; volumes and gateways are rows seeded in the
// server's database, since no backend here makes them.

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db"
)

func testOfficialSharing(t *testing.T, env *officialEnv) {
	exporter, team := env.NewProject(t, "exporter"), env.NewProject(t, "team")
	owner := env.CLIFor(t, exporter, env.Server.Token)
	owner.ApplyFleet("shared", []*sshtest.Host{sshtest.NewHost(t, sshtest.Options{})})
	member := env.CLIFor(t, team, env.Server.Token)

	member.Check(member.Run("import", "list"), 0, "NAME", "FLEETS", "GATEWAYS")
	owner.Check(owner.Run("export", "create", "to-team", "--fleet", "shared", "--importer", team), 0, "to-team", "shared", team)
	owner.Check(owner.Run("export", "list"), 0, "to-team", "shared", team)
	owner.Check(owner.Run("export", "create", "to-team", "--fleet", "shared"), 1, "already exists")
	member.Check(member.Run("import", "list"), 0, exporter+"/to-team", "shared")
	member.Check(member.Run("fleet"), 0, exporter+"/shared")
	member.Check(member.Run("offer"), 0, "ssh (remote)")

	path := member.WriteFile("long.dstack.yml", "type: task\nname: long\ncommands:\n  - sleep 600\n"+taskResources)
	member.Check(member.Run("apply", "-f", path, "-y", "-d"), 0, "Run long submitted")
	env.waitRun(t, team, "long", "running")

	t.Run("volumes", func(t *testing.T) {
		s := openServerDB(t, env)
		s.volume(t, team, "data", nil)
		s.volume(t, team, "busy", ptrTo(s.jobInstance(t, team, "long")))
		list := member.Want(0, "volume", "list")
		require.Contains(t, list.Stdout, "data")
		require.Contains(t, list.Stdout, "busy")
		require.Contains(t, list.Stdout, "aws (eu-west-1)")
		member.Check(member.Run("volume", "list", "-v"), 0, "shared") // ATTACHED: the fleet of the instance
		member.Check(member.Run("volume", "delete", "busy", "-y"), 1, "Failed to delete volume busy. Volume is in use.")
		member.Check(member.Run("volume", "delete", "data", "-y"), 0, "Volume data deleted")
		member.Check(member.Run("volume", "delete", "nope", "-y"), 1, "Volume nope does not exist")
		require.NotContains(t, member.Want(0, "volume").Stdout, "data")
		vol := member.WriteFile("vol.dstack.yml", "type: volume\nname: fresh\nbackend: aws\nregion: eu-west-1\nsize: 100GB\n")
		member.Check(member.Run("apply", "-f", vol, "-y"), 1, "no backend of this server provisions volumes yet")
	})
	t.Run("gateways", func(t *testing.T) {
		s := openServerDB(t, env)
		s.gateway(t, team, "gw")
		member.Check(member.Run("gateway", "list"), 0, "gw", "aws", "running")
		member.Check(member.Run("gateway"), 0, "gw")
		gw := member.WriteFile("gw.dstack.yml", "type: gateway\nname: new-gw\nbackend: aws\nregion: eu-west-1\ndomain: example.com\n")
		member.Check(member.Run("apply", "-f", gw, "-y"), 1, "Gateways are not supported by this server yet")
		member.Check(member.Run("gateway", "delete", "gw", "-y"), 0, "deleted")
		require.NotContains(t, member.Want(0, "gateway", "list").Stdout, "gw")
	})

	// Deleting the export stops new placements on its fleet; the running
	// job goes on.
	owner.Check(owner.Run("export", "delete", "to-team", "-y"), 0, "Export to-team deleted")
	require.NotContains(t, member.Want(0, "import", "list").Stdout, "to-team")
	require.NotContains(t, member.Want(0, "fleet").Stdout, "shared")
	after := member.WriteFile("after.dstack.yml", "type: task\nname: after\ncommands:\n  - echo hi\n"+taskResources)
	member.Run("apply", "-f", after, "-y", "-d")
	env.waitRun(t, team, "after", "failed", "terminated")
	require.Equal(t, "running", env.runStatus(t, team, "long").Status)
	member.Check(member.Run("stop", "long", "-x", "-y"), 0, "Aborted")
	env.waitRun(t, team, "long", "terminated", "aborted")
}

// serverDB is the SQLite database of the running test server (opened
// beside it, without db.Open's one-server lock), for rows no route creates.
type serverDB struct{ d *bun.DB }

func openServerDB(t *testing.T, env *officialEnv) *serverDB {
	t.Helper()
	path := filepath.Join(env.Server.Home, ".dstack", "server", "data", "sqlite.db")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=foreign_keys(1)")
	require.NoError(t, err)
	d := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { _ = d.Close() })
	return &serverDB{d: d}
}

func (s *serverDB) id(t *testing.T, query string, args ...any) string {
	t.Helper()
	var id string
	require.NoError(t, s.d.NewRaw(query, args...).Scan(context.Background(), &id), query)
	return id
}

// jobInstance is the instance the run's job holds.
func (s *serverDB) jobInstance(t *testing.T, project, run string) string {
	return s.id(t, "SELECT j.instance_id FROM jobs AS j JOIN projects AS p ON p.id = j.project_id "+
		"WHERE p.name = ? AND j.run_name = ? AND j.instance_id IS NOT NULL", project, run)
}

// volume stores an active AWS volume of the admin, attached to instance when
// given, as upstream's server records one.
func (s *serverDB) volume(t *testing.T, project, name string, instance *string) {
	t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	v := &db.Volume{ID: uuid.NewString(), ProjectID: s.id(t, "SELECT id FROM projects WHERE name = ?", project),
		UserID: s.id(t, "SELECT id FROM users WHERE name = 'admin'"), Name: name, CreatedAt: now, LastProcessedAt: now,
		Status: "active", Configuration: `{"type":"volume","backend":"aws","name":"` + name + `","size":100.0,"region":"eu-west-1","availability_zone":null,"volume_id":null}`,
		VolumeProvisioningData: ptrTo(`{"backend":"aws","volume_id":"vol-0123","size_gb":100,"availability_zone":"eu-west-1a","price":8.0,"attachable":true,"detachable":true}`)}
	require.NoError(t, db.InsertVolume(ctx, s.d, v))
	if instance != nil {
		require.NoError(t, db.InsertVolumeAttachment(ctx, s.d, &db.VolumeAttachment{VolumeID: v.ID, InstanceID: *instance,
			AttachmentData: ptrTo(`{"device_name":"/dev/sdf"}`)}))
	}
}

// gateway stores a running AWS gateway, the project's default.
func (s *serverDB) gateway(t *testing.T, project, name string) {
	t.Helper()
	g := &db.Gateway{ID: uuid.NewString(), ProjectID: s.id(t, "SELECT id FROM projects WHERE name = ?", project), Name: name,
		CreatedAt: time.Now().UTC(), Status: "running", IsDefault: true, Hostname: ptrTo("203.0.113.7"),
		WildcardDomain: ptrTo("example.com"),
		Configuration:  `{"type":"gateway","name":"` + name + `","default":true,"backend":"aws","region":"eu-west-1","domain":"example.com","public_ip":true,"certificate":{"type":"lets-encrypt"}}`}
	require.NoError(t, db.InsertGateway(context.Background(), s.d, g))
}

func ptrTo[T any](v T) *T { return &v }
