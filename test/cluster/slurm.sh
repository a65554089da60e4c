#!/usr/bin/env bash
# A one-node Slurm "cluster" on this machine, on loopback only, for the slurm bootstrap
# tests: its own munged (own key and socket), slurmctld and slurmd, all state in a temp dir.
#
#   slurm.sh up           start it (idempotent: an old one is stopped first); prints its directory
#   slurm.sh up-cluster   the same over the emulated cluster (test/cluster/cluster.sh up N first):
#                         slurmctld on the head (10.77.0.1), one slurmd per host namespace
#                         (NodeName nodeI, its own host name), partition "cluster"
#   slurm.sh down         stop the daemons, remove the directory
#
# Then: `. $DIR/env; salloc -n 3 orchidrun …`. Needs root and slurm-wlm (slurmctld, slurmd,
# srun, munge). Environment: ORCHID_SLURM_DIR (default /tmp/orchid-slurm).
set -euo pipefail
DIR=${ORCHID_SLURM_DIR:-/tmp/orchid-slurm}
die() { echo "slurm.sh: $*" >&2; exit 1; }

down() {
  for f in "$DIR"/slurmd-*.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
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
  local mode=${1:-local}
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
  local ctladdr=127.0.0.1 cdir=${ORCHID_CLUSTER_DIR:-/tmp/orchid-cluster-${ORCHID_CLUSTER_NAME:-oc}}
  if [ "$mode" = cluster ]; then
    [ -f "$cdir/hosts" ] || die "up-cluster: the emulated cluster is not up (test/cluster/cluster.sh up N)"
    ctladdr=10.77.0.1
  fi
  dd if=/dev/urandom of="$DIR/munge.key" bs=128 count=1 status=none
  chmod 400 "$DIR/munge.key"
  /usr/sbin/munged --force --socket="$DIR/munge.sock" --key-file="$DIR/munge.key" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munged.seed" 2>/dev/null
  cat >"$DIR/slurm.conf" <<CONF
ClusterName=orchid
SlurmctldHost=$host($ctladdr)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
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
CONF
  if [ "$mode" = cluster ]; then
    local names=()
    while read -r name addr; do
      echo "NodeName=$name NodeAddr=$addr CPUs=$cpus State=UNKNOWN" >>"$DIR/slurm.conf"
      names+=("$name")
    done <"$cdir/hosts"
    local list
    list=$(IFS=,; echo "${names[*]}")
    echo "PartitionName=cluster Nodes=$list Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8" >>"$DIR/slurm.conf"
  else
    echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN" >>"$DIR/slurm.conf"
    echo "PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8" >>"$DIR/slurm.conf"
  fi
  echo "SLURM_CONF=$DIR/slurm.conf" >"$DIR/env"
  export SLURM_CONF=$DIR/slurm.conf
  /usr/sbin/slurmctld
  local want=1
  if [ "$mode" = cluster ]; then
    local i=0
    while read -r name addr; do
      i=$((i + 1))
      mkdir -p "$DIR/spool/$name"
      # in the host's namespace, with its host name: its job steps run "on" that host
      # nsenter, not ip netns exec: that remounts /sys, hiding the cgroup file system slurmd needs
      nsenter --net="/run/netns/${ORCHID_CLUSTER_NAME:-oc}-n$i" unshare --uts sh -c "hostname $name && exec /usr/sbin/slurmd -N $name" </dev/null
    done <"$cdir/hosts"
    want=$i
  else
    mkdir -p "$DIR/spool/$host"
    /usr/sbin/slurmd
  fi
  for _ in $(seq 1 150); do
    if [ "$(sinfo -h -N -o '%T' 2>/dev/null | grep -c idle)" -ge "$want" ]; then echo "$DIR"; return 0; fi
    sleep 0.1
  done
  tail -5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  die "the node did not become idle"
}

case "${1:-}" in
  up) up local ;;
  up-cluster) up cluster ;;
  down) down ;;
  *) die "usage: slurm.sh up | up-cluster | down" ;;
esac
