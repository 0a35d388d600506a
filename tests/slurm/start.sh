#!/usr/bin/env bash
# Bring up a throwaway one-node Slurm cluster on loopback for tests/workflow/test_slurm.py:
# munged + slurmctld + slurmd, no systemd, no accounting database, partitions `cpu` (default)
# and `gpu`, and one fake GPU (gres) so that `--gpus=1` / `--gres=gpu:1` requests schedule.
# Needs root and the packages of tests/slurm/install.sh. Idempotent: a running cluster is kept.
#
# The Snakemake Slurm executor strips SLURM_* variables (SLURM_CONF included) before its nested
# `srun`, so the configuration must sit at the compiled-in default /etc/slurm/slurm.conf: this
# script links it there and refuses to replace a slurm.conf it did not write.
set -euo pipefail
STATE=${PFS_SLURM_DIR:-/tmp/pfsdenoise-slurm}
CONF=/etc/slurm/slurm.conf
NODE=$(hostname -s)
# The node advertises at least 8 CPUs, like a small GPU node, so that jobs with a few threads
# (training: config train.threads) and the profile's largest submission (`cores: 8` in
# slurm/config.yaml) schedule on a 2-core CI machine and short jobs overlap;
# SlurmdParameters=config_overrides lets slurmd accept more CPUs than it finds (jobs then share
# the real cores).
CPUS=$(nproc)
[ "$CPUS" -ge 8 ] || CPUS=8
# Memory the node advertises (MiB): what the machine has, less 1 GiB for the daemons. Requests
# above it are rejected by sbatch, which is what a real cluster does too.
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2 / 1024 - 1024}' /proc/meminfo)

if [ "$(id -u)" -ne 0 ]; then
  echo "start.sh: must run as root (starts munged, slurmctld and slurmd)" >&2
  exit 1
fi
for tool in munged slurmctld slurmd sinfo; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool missing; run tests/slurm/install.sh" >&2; exit 1; }
done
if [ -e "$CONF" ] && [ "$(readlink -f "$CONF")" != "$STATE/slurm.conf" ]; then
  echo "start.sh: $CONF exists and is not ours ($STATE/slurm.conf); not touching a real cluster" >&2
  exit 1
fi
if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "start.sh: cluster already up"; sinfo; exit 0
fi

mkdir -p "$STATE"/{state,spool,log} /etc/slurm /run/munge
chown munge:munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f
  chown munge:munge /etc/munge/munge.key
fi

cat > "$STATE/slurm.conf" <<CONF
# Written by tests/slurm/start.sh: a one-node test cluster on loopback.
ClusterName=pfsdenoise-test
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
# No slurmdbd: job states come from slurmctld; keep finished jobs visible to squeue/scontrol
# for an hour so that Snakemake's status checks and the test's assertions see them, also
# when a loaded machine makes the whole test run long.
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmdParameters=config_overrides
# Reject at submission a job that no node of its partition can ever run, as clusters usually do.
EnforcePartLimits=ALL
DefMemPerCPU=500
ReturnToService=2
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${NODE} Default=NO MaxTime=INFINITE State=UP
CONF
# The fake GPU: slurmd drops a gres whose File does not exist; /dev/null stands in for
# /dev/nvidia0, and Slurm still exports CUDA_VISIBLE_DEVICES=0 to the job that gets it.
echo "NodeName=${NODE} Name=gpu File=/dev/null" > "$STATE/gres.conf"
ln -sfn "$STATE/slurm.conf" "$CONF"
ln -sfn "$STATE/gres.conf" /etc/slurm/gres.conf

pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
pgrep -x slurmctld >/dev/null || slurmctld -c
pgrep -x slurmd >/dev/null || slurmd -c
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)'; then
    sinfo
    exit 0
  fi
  scontrol update nodename="$NODE" state=resume 2>/dev/null || true
  sleep 1
done
echo "start.sh: node did not become idle within 30 s; logs in $STATE/log/" >&2
sinfo >&2 || true
exit 1
