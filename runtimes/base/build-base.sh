#!/usr/bin/env bash
# Build an offline Debian base image (with python3) for Cloudmicro's runtime images,
# for machines that have no container registry: debootstrap a minimal rootfs and
# `docker import` it. The Debian mirror is read from this machine's apt sources.
#
#   usage: runtimes/base/build-base.sh [IMAGE_TAG]   (default cloudmicro/base:bookworm)
#   needs: root, debootstrap, a reachable Debian mirror, a Docker engine
set -euo pipefail

tag="${1:-cloudmicro/base:bookworm}"
suite="${CLOUDMICRO_BASE_SUITE:-bookworm}"

mirror="${CLOUDMICRO_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 sources (URIs: ...) first, then one-line sources (deb URL suite ...).
  mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  echo "build-base: no Debian mirror found in /etc/apt/sources*; set CLOUDMICRO_DEBIAN_MIRROR" >&2
  exit 2
fi
command -v debootstrap >/dev/null || { echo "build-base: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-base: debootstrap $suite from $mirror (about a minute)" >&2
debootstrap --variant=minbase --include=python3-minimal,python3,python3-venv,python3-pip,ca-certificates \
  "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
# The image trusts what this machine trusts (e.g. a company proxy's CA), so pip and apt
# inside builds from it reach the registries this machine reaches.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
fi
echo "build-base: docker import -> $tag" >&2
tar -C "$work/rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/sh"]' - "$tag" >/dev/null
echo "build-base: done: $tag" >&2
