if [ -f /etc/systemd/system/dstack-shim.service ]; then
  systemctl disable --now dstack-shim.service >/dev/null 2>&1 || true
  rm -f /etc/systemd/system/dstack-shim.service
  systemctl daemon-reload
  echo stopped
fi
rm -f /usr/local/bin/dstack-shim /root/.dstack/shim.env /root/.dstack/host_info.json
