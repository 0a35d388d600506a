#!/usr/bin/env bash
# Stop the test cluster of tests/slurm/start.sh: cancel its jobs, shut the daemons down, and
# remove the /etc/slurm links it made. munged is left running (other tools may use it).
STATE=${PFS_SLURM_DIR:-/tmp/pfsdenoise-slurm}
command -v scancel >/dev/null || exit 0
scancel --user="$(id -un)" 2>/dev/null || true
# `scontrol shutdown` stops slurmctld and slurmd cleanly (killing slurmd mid-job would orphan
# a slurmstepd); fall back to the daemons' own pid files if it did not get through.
scontrol shutdown 2>/dev/null || true
for _ in $(seq 1 10); do
  pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
  sleep 1
done
for daemon in slurmd slurmctld; do
  pidfile="$STATE/$daemon.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" || true
  fi
done
for link in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
  [ -L "$link" ] && [ "$(readlink -f "$link")" = "$STATE/$(basename "$link")" ] && rm -f "$link"
done
exit 0
