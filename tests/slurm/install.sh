#!/usr/bin/env bash
# Install Debian's Slurm (controller, node daemon, client) and munge for the single-node test
# cluster that tests/slurm/start.sh brings up. Needs root and a reachable Debian mirror.
# Idempotent: does nothing when the daemons and the client are already installed.
# Versions are read from the packages: before start.sh writes a slurm.conf, the Slurm commands
# themselves cannot run (sinfo: "Could not establish a configuration source").
set -euo pipefail
PACKAGES=(slurmctld slurmd slurm-client munge)
versions() { dpkg-query -W -f '${Package} ${Version}\n' "${PACKAGES[@]}"; }
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v sbatch >/dev/null && command -v munged >/dev/null; then
  echo "slurm and munge already installed:"; versions
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: must run as root (apt-get install ${PACKAGES[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
versions
