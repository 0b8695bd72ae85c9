#!/usr/bin/env bash
# A real single-node Slurm for the cluster tests: `up DIR` starts munged,
# slurmctld and slurmd with a slurm.conf generated in DIR and waits until the
# node is idle; `down DIR` stops what `up` started, by its pid files.
# Needs root and Debian's slurmctld slurmd slurm-client munge.
# Clients find the cluster with SLURM_CONF=DIR/slurm.conf.
set -euo pipefail
cmd=${1:?usage: slurm-ci.sh up|down DIR}
dir=${2:?usage: slurm-ci.sh up|down DIR}

down() {
    for p in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
        if [[ -s $p ]]; then
            pid=$(cat "$p")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$p"
        fi
    done
}

if [[ $cmd == down ]]; then
    down
    exit 0
fi
[[ $cmd == up ]] || { echo "usage: slurm-ci.sh up|down DIR" >&2; exit 2; }

mkdir -p "$dir"/{state,spool,munge}
dir=$(cd "$dir" && pwd)
chmod 755 "$dir" # munged runs as the munge user and must reach its folder (mktemp -d makes it 700)
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))

# munge: its own key and socket under DIR, run as the munge user.
chown munge:munge "$dir/munge"
chmod 700 "$dir/munge"
if [[ ! -s $dir/munge/munge.key ]]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chown munge:munge "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
fi
mkdir -p /run/munge
chown munge:munge /run/munge
runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket=/run/munge/munge.socket.2 \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" --force
cp "$dir/munge/munged.pid" "$dir/munged.pid"

cat > "$dir/slurm.conf" <<CONF
ClusterName=exlibris-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=1,sched_interval=1,sched_min_interval=0
SlurmdParameters=config_overrides
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        echo "slurm up: SLURM_CONF=$SLURM_CONF (node $host, $cpus CPUs)"
        exit 0
    fi
    sleep 0.5
done
echo "slurm did not come up; logs in $dir:" >&2
tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log >&2 || true
down
exit 1
