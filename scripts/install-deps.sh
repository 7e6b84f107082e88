#!/usr/bin/env bash
# Installs what Pmip6Akka's demos and tests use when it is missing (Debian, as root, non-interactive):
# tshark (independent decoder), iproute2 (network namespaces), iputils-ping (lab reachability checks),
# iptables (ip6tables: NFQUEUE rules for handover buffering). Quiet when everything is there.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v ip6tables >/dev/null 2>&1 || need+=(iptables)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]} and not root: install them (apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}"
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || { echo "install-deps: apt-get install ${need[*]} failed" >&2; exit 1; }
