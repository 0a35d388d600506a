#!/usr/bin/env bash
# Install Debian's Slurm (controller, node daemon, client) and munge for the single-node test
# cluster that tests/slurm/start.sh brings up. Needs root and a reachable Debian mirror.
# Idempotent: does nothing when the daemons and the client are already installed.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v sbatch >/dev/null && command -v munged >/dev/null; then
  echo "slurm and munge already installed: $(sinfo --version)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: must run as root (apt-get install slurmctld slurmd slurm-client munge)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
sinfo --version
