set -e
mkdir -p /usr/local/bin
cp /home/u/.dstack/staging/dstack-shim /usr/local/bin/dstack-shim.dstack-tmp
chown 0:0 /usr/local/bin/dstack-shim.dstack-tmp
chmod 755 /usr/local/bin/dstack-shim.dstack-tmp
mv -f /usr/local/bin/dstack-shim.dstack-tmp /usr/local/bin/dstack-shim
rm -f /home/u/.dstack/staging/dstack-shim
if command -v restorecon >/dev/null 2>&1; then restorecon /usr/local/bin/dstack-shim || true; fi
