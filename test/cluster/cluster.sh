#!/usr/bin/env bash
# An emulated cluster on one machine: N "hosts", each a network namespace with its own
# address, its own sshd and its own hostname, joined by a bridge in the root namespace
# (the head node: the launcher runs there, at 10.77.0.1). Links are limited to 1 Gbit/s
# with tc tbf on both veth ends, like the gigabit switch of a small board cluster.
#
#   cluster.sh up N     bring up hosts node1..nodeN (idempotent: an old cluster is removed first)
#   cluster.sh down     remove everything: sshds, namespaces, links, the state directory
#   cluster.sh status   print the state directory and the hosts, exit 1 when down
#   cluster.sh pids I   pids of every process in host I's namespace (one per line)
#
# Needs root, iproute2 (ip, tc), util-linux (unshare), openssh-server and openssh-client.
#
# Environment: ORCHID_CLUSTER_NAME (default "oc", a prefix of at most 4 characters for the
# bridge, links and namespaces), ORCHID_CLUSTER_DIR (default /tmp/orchid-cluster-$NAME),
# ORCHID_CLUSTER_RATE (default 1gbit).
#
# Afterwards `ssh -F $DIR/ssh_config node1 hostname` prints node1. The ssh_config also has
# the aliases `badkey` (node1 with a key that host does not accept) and `unreachable`
# (an address on the bridge with no host behind it) for fault tests. Files in $DIR:
# ssh_config, hosts (one "nodeI 10.77.0.(10+I)" per line), hostfile, id_ed25519, env.
set -euo pipefail

NAME=${ORCHID_CLUSTER_NAME:-oc}
DIR=${ORCHID_CLUSTER_DIR:-/tmp/orchid-cluster-$NAME}
RATE=${ORCHID_CLUSTER_RATE:-1gbit}
NET=10.77.0
HEAD=$NET.1
BR=$NAME-br

die() { echo "cluster.sh: $*" >&2; exit 1; }

need() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, sshd)"
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v tc >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  [ ${#missing[@]} = 0 ] || die "missing: install ${missing[*]} (apt-get install ${missing[*]})"
}

addr_of() { echo "$NET.$((10 + $1))"; }

down() {
  # sshds first (their pid files), then anything else still running in our namespaces
  for pidfile in "$DIR"/node*/sshd.pid; do
    [ -f "$pidfile" ] || continue
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NAME-n[0-9]+$" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$NAME-v[0-9]+$" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  rm -rf "$DIR"
}

up() {
  local n=$1
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "up: N must be 1..200, got '$n'"
  [ ${#NAME} -le 4 ] || die "ORCHID_CLUSTER_NAME must have at most 4 characters"
  need
  down
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  mkdir -p /run/sshd # sshd's privilege separation directory

  ip link add "$BR" type bridge
  ip addr add "$HEAD/24" dev "$BR"
  ip link set "$BR" up

  ssh-keygen -q -t ed25519 -N '' -C "orchid-cluster-client" -f "$DIR/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "orchid-cluster-badkey" -f "$DIR/id_bad"
  cp "$DIR/id_ed25519.pub" "$DIR/authorized_keys"
  : >"$DIR/known_hosts"
  : >"$DIR/hosts"
  : >"$DIR/hostfile"
  echo "# orchid emulated cluster ($DIR); use: ssh -F $DIR/ssh_config node1" >"$DIR/ssh_config"

  for i in $(seq 1 "$n"); do
    local ns=$NAME-n$i veth=$NAME-v$i addr hd=$DIR/node$i
    addr=$(addr_of "$i")
    mkdir -p "$hd/home"
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BR" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$HEAD"
    # 1 Gbit/s each way: the head side shapes traffic into the host, the host side out of it
    tc qdisc add dev "$veth" root tbf rate "$RATE" burst 256kb latency 20ms
    tc -n "$ns" qdisc add dev eth0 root tbf rate "$RATE" burst 256kb latency 20ms

    ssh-keygen -q -t ed25519 -N '' -C "node$i" -f "$hd/ssh_host_ed25519_key"
    echo "node$i $(cut -d' ' -f1,2 "$hd/ssh_host_ed25519_key.pub")" >>"$DIR/known_hosts"
    cat >"$hd/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $hd/ssh_host_ed25519_key
PidFile $hd/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys $hd/home/.ssh/authorized_keys
# each host has its own home (so ssh-copy-id installs keys there, not in this machine's /root)
SetEnv HOME=$hd/home
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 200
MaxSessions 100
ClientAliveInterval 2
ClientAliveCountMax 3
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
    # its own UTS namespace: hostname (and everything sshd starts) says nodeI
    ip netns exec "$ns" unshare --uts sh -c "hostname node$i && exec /usr/sbin/sshd -f '$hd/sshd_config' -E '$hd/sshd.log'"
    cat >>"$DIR/ssh_config" <<EOF

Host node$i
  HostName $addr
  HostKeyAlias node$i
  IdentityFile $DIR/id_ed25519
EOF
    echo "node$i $addr" >>"$DIR/hosts"
    echo "node$i" >>"$DIR/hostfile"
  done
  cat >>"$DIR/ssh_config" <<EOF

# node1 with a key it does not accept
Host badkey
  HostName $(addr_of 1)
  HostKeyAlias node1
  IdentityFile $DIR/id_bad

# an address on the cluster's network with no host behind it
Host unreachable
  HostName $NET.250
  HostKeyAlias unreachable
  ConnectTimeout 2
  IdentityFile $DIR/id_ed25519

# defaults last: ssh takes the first value it finds for each option
Host *
  User root
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  StrictHostKeyChecking yes
  GlobalKnownHostsFile /dev/null
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 5
EOF
  cat >"$DIR/env" <<EOF
ORCHID_CLUSTER_DIR=$DIR
ORCHID_CLUSTER_SSH_CONFIG=$DIR/ssh_config
ORCHID_CLUSTER_HEAD=$HEAD
ORCHID_CLUSTER_HOSTS=$(seq -s, -f 'node%g' 1 "$n")
EOF

  # every sshd answers before we return
  for i in $(seq 1 "$n"); do
    local ok=
    for _ in $(seq 1 50); do
      if ssh -F "$DIR/ssh_config" "node$i" true 2>/dev/null; then ok=1; break; fi
      sleep 0.1
    done
    [ -n "$ok" ] || { cat "$DIR/node$i/sshd.log" >&2 || true; die "node$i: ssh does not answer"; }
  done
  echo "$DIR"
}

case "${1:-}" in
  up) up "${2:-4}" ;;
  down) down ;;
  status)
    [ -f "$DIR/hosts" ] || { echo "down"; exit 1; }
    echo "$DIR"
    cat "$DIR/hosts"
    ;;
  pids)
    [ -n "${2:-}" ] || die "pids: which host (1..N)?"
    ip netns pids "$NAME-n$2"
    ;;
  *) die "usage: cluster.sh up N | down | status | pids I" ;;
esac
