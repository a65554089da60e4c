#!/usr/bin/env bash
# A one-node Slurm "cluster" on this machine, on loopback only, for the slurm bootstrap
# tests: its own munged (own key and socket), slurmctld and slurmd, all state in a temp dir.
#
#   slurm.sh up      start it (idempotent: an old one is stopped first); prints the env file
#   slurm.sh down    stop the daemons, remove the directory
#
# Then: `. $DIR/env; salloc -n 3 orchidrun …`. Needs root and slurm-wlm (slurmctld, slurmd,
# srun, munge). Environment: ORCHID_SLURM_DIR (default /tmp/orchid-slurm).
set -euo pipefail
DIR=${ORCHID_SLURM_DIR:-/tmp/orchid-slurm}
die() { echo "slurm.sh: $*" >&2; exit 1; }

down() {
  for f in slurmd slurmctld munged; do
    [ -f "$DIR/$f.pid" ] && kill "$(cat "$DIR/$f.pid")" 2>/dev/null || true
  done
  sleep 0.3
  for f in slurmd slurmctld munged; do
    [ -f "$DIR/$f.pid" ] && kill -9 "$(cat "$DIR/$f.pid")" 2>/dev/null || true
  done
  rm -rf "$DIR"
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root"
  for b in slurmctld slurmd munged srun salloc; do
    command -v $b >/dev/null || [ -x /usr/sbin/$b ] || die "missing $b: apt-get install slurm-wlm munge"
  done
  down
  mkdir -p "$DIR"/{state,spool,log}
  chmod 700 "$DIR"
  local cpus host
  cpus=8 # more than this machine has: tests place several ranks per core (config_overrides)
  host=$(hostname)
  dd if=/dev/urandom of="$DIR/munge.key" bs=128 count=1 status=none
  chmod 400 "$DIR/munge.key"
  /usr/sbin/munged --force --socket="$DIR/munge.sock" --key-file="$DIR/munge.key" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munged.seed" 2>/dev/null
  cat >"$DIR/slurm.conf" <<CONF
ClusterName=orchid
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
  echo "SLURM_CONF=$DIR/slurm.conf" >"$DIR/env"
  export SLURM_CONF=$DIR/slurm.conf
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  for _ in $(seq 1 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -q idle; then echo "$DIR"; return 0; fi
    sleep 0.1
  done
  tail -5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  die "the node did not become idle"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: slurm.sh up | down" ;;
esac
