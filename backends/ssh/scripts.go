package ssh

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// supervisorName tags the user-level supervisor in its command line, so a
// recycled pid is not mistaken for it.
const supervisorName = "dstack-shim-supervisor"

// supervisorScript is the detached user-level supervisor: it records its
// pid (= its process group, it is a session leader under setsid) and runs
// the shim with shim.env, restarting it 3 s after it exits, like the unit's
// Restart=always. Arguments: pid file, env file, binary.
const supervisorScript = `echo $$ > "$1"
while :; do
  ( set -a; . "$2"; set +a; exec "$3" shim )
  echo "` + supervisorName + `: shim exited with status $?; restarting in 3s"
  sleep 3
done`

// userFunctions define alive (the supervisor of $pidf runs; sets $pid),
// group_alive PGID (a live, non-zombie process is in the group) and
// stop_shim (TERM the group, wait up to 10 s, KILL it, remove the pid file).
const userFunctions = `alive() {
  [ -s "$pidf" ] || return 1
  pid=$(cat "$pidf")
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  tr '\000' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q ` + supervisorName + `
}
group_alive() {
  cat /proc/[0-9]*/stat 2>/dev/null | grep -q "^[0-9]* (.*) [^ZX] [0-9]* $1 "
}
stop_shim() {
  if alive; then
    kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    i=0
    while group_alive "$pid" && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
    kill -KILL -"$pid" 2>/dev/null || true
    echo stopped
  fi
  rm -f "$pidf"
}
`

// userStartScript starts the user-level shim unless it runs; with restart
// it stops it first. It prints "started" when it started it.
func userStartScript(lay layout, restart bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\npidf=%s\n%s", shellQuote(lay.PidFile), userFunctions)
	fmt.Fprintf(&b, "mkdir -p %s\n", shellQuote(lay.Home))
	if restart {
		b.WriteString("stop_shim >/dev/null\n")
	}
	log := shellQuote(lay.LogFile)
	fmt.Fprintf(&b, `if alive; then exit 0; fi
rm -f %s
if [ -f %s ] && [ "$(wc -c < %s)" -gt 10485760 ]; then mv -f %s %s.1; fi
cd %s
setsid nohup sh -c %s %s "$pidf" %s %s >> %s 2>&1 < /dev/null &
i=0
while [ ! -s "$pidf" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo started
`, shellQuote(path.Join(lay.Home, "host_info.json")), log, log, log, log, shellQuote(lay.Home),
		shellQuote(supervisorScript), supervisorName, shellQuote(lay.EnvFile), shellQuote(lay.Binary), log)
	return b.String()
}

// userStopScript stops the user-level shim if it runs.
func userStopScript(lay layout) string {
	return fmt.Sprintf("pidf=%s\n%sstop_shim\n", shellQuote(lay.PidFile), userFunctions)
}

// userRemoveScript stops the user-level shim and removes its files (the
// log and task directories stay).
func userRemoveScript(lay layout) string {
	return userStopScript(lay) + fmt.Sprintf("rm -f %s %s %s\nrmdir %s 2>/dev/null || true\n",
		shellQuote(lay.Binary), shellQuote(lay.EnvFile), shellQuote(path.Join(lay.Home, "host_info.json")),
		shellQuote(path.Dir(lay.Binary)))
}

// systemdStartScript enables the unit and restarts it when restart is set
// or it is not active; it prints "started" when it (re)started it.
func systemdStartScript(lay layout, restart, reload bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nmkdir -p %s\n", shellQuote(lay.Home))
	if reload {
		b.WriteString("systemctl daemon-reload\n")
	}
	r := "false"
	if restart {
		r = "true"
	}
	fmt.Fprintf(&b, `systemctl enable --quiet %[1]s
if %[2]s || ! systemctl is-active --quiet %[1]s; then
  rm -f %[3]s
  systemctl reset-failed %[1]s 2>/dev/null || true
  systemctl restart %[1]s
  echo started
fi
`, UnitName, r, shellQuote(path.Join(lay.Home, "host_info.json")))
	return b.String()
}

// systemdRemoveScript stops and removes the unit and the root-owned files.
func systemdRemoveScript(lay layout) string {
	return fmt.Sprintf(`if [ -f %[1]s ]; then
  systemctl disable --now %[2]s >/dev/null 2>&1 || true
  rm -f %[1]s
  systemctl daemon-reload
  echo stopped
fi
rm -f %[3]s %[4]s %[5]s
`, UnitPath, UnitName, shellQuote(lay.Binary), shellQuote(lay.EnvFile), shellQuote(path.Join(lay.Home, "host_info.json")))
}

// sudoInstallScript installs the staged file stage as p, owned by root with
// mode, atomically (copy next to p, then rename), relabelled for SELinux.
func sudoInstallScript(stage, p string, mode os.FileMode) string {
	tmp, qp := shellQuote(p+".dstack-tmp"), shellQuote(p)
	return fmt.Sprintf(`set -e
mkdir -p %s
cp %s %s
chown 0:0 %s
chmod %o %s
mv -f %s %s
rm -f %s
if command -v restorecon >/dev/null 2>&1; then restorecon %s || true; fi
`, shellQuote(path.Dir(p)), shellQuote(stage), tmp, tmp, mode.Perm(), tmp, tmp, qp, shellQuote(stage), qp)
}
