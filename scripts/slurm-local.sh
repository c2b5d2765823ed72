#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM executor's tests and
# for trying `bench run --executor slurm` without a cluster.
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge if missing (apt-get, as root),
#                                   write /etc/slurm/slurm.conf for this host's cores and
#                                   memory, start munged, slurmctld and slurmd, wait until
#                                   the node is idle
#   scripts/slurm-local.sh stop     stop the three daemons this script started
#   scripts/slurm-local.sh status   sinfo, or why the cluster is not up (exit 1)
#
# Everything listens on 127.0.0.1 only. Daemon state and logs go to
# $BENCH_SLURM_DIR (default /var/lib/bench-slurm). Needs root: the daemons and
# the config live in the system's places, where every SLURM client finds them.
set -euo pipefail

STATE=${BENCH_SLURM_DIR:-/var/lib/bench-slurm}
CONF=/etc/slurm/slurm.conf
PARTITION=debug

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages, writes $CONF and starts system daemons)"
}

install_if_missing() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return
  fi
  echo "slurm-local: installing slurm-wlm and munge (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed"
  apt-get install -y -q slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
}

pid_alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

write_conf() {
  local host cpus mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  # Leave 1 GiB to the system; memory is not a consumable resource here (CR_Core), so jobs share it.
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" "$STATE/log"
  chown -R slurm:slurm "$STATE/ctld"
  cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on $host.
ClusterName=bench
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# No cgroups in a container: track processes through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Quick tests: dependencies and requeues are looked at every few seconds, finished jobs stay in squeue 5 minutes.
SchedulerParameters=sched_interval=2
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  need_root
  install_if_missing
  write_conf
  if ! pid_alive "$STATE/munged.pid"; then
    [ -s /etc/munge/munge.key ] || { /usr/sbin/mungekey --create --force >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged --pid-file="$STATE/munged.pid.tmp" --force
    # munged writes its pid file as the munge user; keep a copy where this script looks.
    for _ in $(seq 50); do [ -s "$STATE/munged.pid.tmp" ] && break; sleep 0.1; done
    cp "$STATE/munged.pid.tmp" "$STATE/munged.pid" 2>/dev/null || true
  fi
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
  pid_alive "$STATE/slurmctld.pid" || /usr/sbin/slurmctld -f "$CONF" || die "slurmctld failed to start (see $STATE/log/slurmctld.log)"
  pid_alive "$STATE/slurmd.pid" || /usr/sbin/slurmd -f "$CONF" || die "slurmd failed to start (see $STATE/log/slurmd.log)"
  local host state=""
  host=$(hostname -s)
  for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case "$state" in idle* | mixed* | allocated*) break ;; esac
    # A node left down/drained by an earlier run of the daemons comes back.
    case "$state" in down* | drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;; esac
    sleep 1
  done
  case "$state" in idle* | mixed* | allocated*) ;; *) die "node $host is '$state' after 60 s (see $STATE/log/)" ;; esac
  echo "slurm-local: up: partition $PARTITION, node $host ($(nproc) CPUs); state in $STATE"
}

stop_daemon() {
  local pidfile=$1 name=$2
  if pid_alive "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "slurm-local: stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop() {
  need_root
  stop_daemon "$STATE/slurmd.pid" slurmd
  stop_daemon "$STATE/slurmctld.pid" slurmctld
  stop_daemon "$STATE/munged.pid" munged
}

status() {
  command -v sinfo >/dev/null || die "SLURM is not installed (scripts/slurm-local.sh start installs it)"
  pid_alive "$STATE/slurmctld.pid" || die "slurmctld is not running (scripts/slurm-local.sh start)"
  pid_alive "$STATE/slurmd.pid" || die "slurmd is not running (scripts/slurm-local.sh start)"
  sinfo
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
