#!/usr/bin/env bash
# Builds the server image with the classic Docker builder (no buildx), from
# Linux dstack binaries: images.sh TAG PLATFORM=BINARY...
#   images.sh dstack:dev linux/amd64=./dstack
# Each platform is tagged TAG-<arch>, and TAG is the first one.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=$1; shift
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/server/deploy/build"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/server/deploy/build/"
first=1
for spec in "$@"; do
  platform=${spec%%=*} bin=${spec#*=}
  mkdir -p "$ctx/$platform" && cp "$bin" "$ctx/$platform/dstack"
  docker build -q --build-arg TARGETPLATFORM="$platform" -t "$tag-${platform#linux/}" -f server/deploy/Dockerfile "$ctx" >/dev/null
  echo "built $tag-${platform#linux/} from $bin"
  if [ $first = 1 ]; then docker tag "$tag-${platform#linux/}" "$tag"; echo "tagged $tag"; first=0; fi
done
