pidf='/home/o'\''brien/.dstack/shim.pid'
alive() {
  [ -s "$pidf" ] || return 1
  pid=$(cat "$pidf")
  case "$pid" in ''|*[!0-9]*) return 1;; esac
  tr '\000' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q dstack-shim-supervisor
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
stop_shim
rm -f '/home/o'\''brien/.dstack/bin/dstack' '/home/o'\''brien/.dstack/shim.env' '/home/o'\''brien/.dstack/host_info.json'
rmdir '/home/o'\''brien/.dstack/bin' 2>/dev/null || true
