#!/usr/bin/env bash
#
# sandbox.sh -- a real Asterisk 22 and a Redis on this machine, for developing
# and testing consent-ivr.
#
# Asterisk comes from Debian sid (bookworm has none) and runs in a chroot built
# once with debootstrap and kept in a cache shared by every checkout. Redis is
# the host's redis-server. Everything that belongs to one checkout (secrets,
# pid files, logs, Redis data, recordings) lives in its state directory.
#
#   sandbox.sh up             build/start whatever is missing, load the repo's config
#   sandbox.sh down           stop what `up` started
#   sandbox.sh status [--json]
#   sandbox.sh cli "CMD"      run an Asterisk CLI command
#   sandbox.sh build          only install host packages and build the chroot
#
# Environment:
#   CONSENT_IVR_SANDBOX_CACHE   where the chroot is kept   (/var/cache/consent-ivr)
#   CONSENT_IVR_SANDBOX_STATE   per-checkout state          (<repo>/.sandbox)
#   CONSENT_IVR_REDIS_PORT      Redis port                  (6379)
#   CONSENT_IVR_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the one
#                               the host's apt uses)
#
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
CACHE=$(realpath -m "${CONSENT_IVR_SANDBOX_CACHE:-/var/cache/consent-ivr}")
CHROOT=$CACHE/chroot
STATE=$(realpath -m "${CONSENT_IVR_SANDBOX_STATE:-$REPO/.sandbox}")
REDIS_PORT=${CONSENT_IVR_REDIS_PORT:-6379}

SECRETS_DIR=$STATE/secrets
RUN_DIR=$STATE/run
LOG_DIR=$STATE/logs
REDIS_DIR=$STATE/redis
RECORDINGS_DIR=$STATE/recordings
JOURNAL_DIR=$STATE/journal

# The chroot counts as built only when this file exists in it.
READY_MARKER_NAME=.consent-ivr-ready
CHROOT_SUITE=sid
# Debian packages of the chroot. Adding one here installs it into existing
# chroots on the next `up`. The hold music (1.7 MB) is there because Debian's
# musiconhold.conf points at it and Asterisk logs an error without it.
CHROOT_PACKAGES=asterisk,asterisk-core-sounds-fr,asterisk-core-sounds-en,asterisk-moh-opsound-gsm
# Free space needed on the cache's filesystem to build the chroot (~500 MB used).
BUILD_MIN_FREE_KB=$((1536 * 1024))

# ARI_URL, AMI_PORT, ...: the coordinates shared with the TypeScript toolkit.
# shellcheck source=sandbox.env
source "$SCRIPT_DIR/sandbox.env"

ASTERISK_PIDFILE_IN_CHROOT=/run/asterisk/asterisk.pid
ASTERISK_BOOT_TIMEOUT=90
ASTERISK_STOP_TIMEOUT=30
REDIS_START_TIMEOUT=15

# Host command -> Debian package providing it.
HOST_PACKAGES=(
    "debootstrap:debootstrap"
    "redis-server:redis-server"
    "redis-cli:redis-tools"
    "espeak-ng:espeak-ng"
    "sox:sox"
    "sipp:sip-tester"
    "chromium:chromium"
)

# --------------------------------------------------------------------------
# Small helpers

log() { printf 'sandbox: %s\n' "$*" >&2; }

die() {
    printf 'sandbox: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

require_root() {
    if [[ $EUID -ne 0 ]]; then
        die "must run as root (it uses chroot, mount and apt-get); try: sudo bash scripts/sandbox.sh $*"
    fi
}

now_seconds() { date +%s.%N; }

elapsed_seconds_int() {
    awk -v start="$1" -v end="$(now_seconds)" 'BEGIN { printf "%d", end - start }'
}

elapsed_since() {
    # Seconds elapsed since $1 (from now_seconds), one decimal.
    awk -v start="$1" -v end="$(now_seconds)" 'BEGIN { printf "%.1f", end - start }'
}

# Take an exclusive lock for the rest of the process (fd 9) so that two
# `up`/`down` of the same checkout never interleave. The daemons we start
# must not inherit fds 8 and 9, or they would hold the locks forever.
lock_state() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/lock"
    if flock -n 9; then
        return 0
    fi
    log "waiting for another sandbox.sh working on $STATE"
    if ! flock -w 300 9; then
        die "another sandbox.sh is still running for $STATE (lock $RUN_DIR/lock held for 5 minutes)"
    fi
}

# True while process $1 exists and is not a zombie (a daemon that exited
# stays a zombie until its parent reaps it, and kill -0 still succeeds then).
pid_running() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ ${stat##*) } != Z* ]]
}

# True when process $1 is running and its command name is $2.
process_is() {
    pid_running "$1" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# Read a file's first line, or nothing when it does not exist.
read_first_line() {
    local file=$1 line=""
    if [[ -r $file ]]; then
        IFS= read -r line <"$file" || true
    fi
    printf '%s' "$line"
}

# --------------------------------------------------------------------------
# Host packages

missing_host_packages() {
    local entry cmd pkg
    for entry in "${HOST_PACKAGES[@]}"; do
        cmd=${entry%%:*}
        pkg=${entry#*:}
        if ! command -v "$cmd" >/dev/null 2>&1; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_host_packages() {
    local -a missing
    mapfile -t missing < <(missing_host_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    log "installing host packages: ${missing[*]}"
    local apt_log=$LOG_DIR/apt.log
    mkdir -p "$LOG_DIR"
    if ! apt-get update >"$apt_log" 2>&1 || grep -qE '^(E:|W: Failed to fetch|Err:)' "$apt_log"; then
        tail -n 15 "$apt_log" >&2
        die "cannot reach the Debian package mirror (apt-get update failed, log in $apt_log); needed to install: ${missing[*]}"
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1; then
        tail -n 15 "$apt_log" >&2
        die "apt-get install ${missing[*]} failed (log in $apt_log)"
    fi
    mapfile -t missing < <(missing_host_packages)
    if ((${#missing[@]} > 0)); then
        die "still missing after apt-get install: ${missing[*]}"
    fi
}

# --------------------------------------------------------------------------
# The chroot

chroot_ready() { [[ -f $CHROOT/$READY_MARKER_NAME ]]; }

# The Debian mirror the host's apt uses (first "…/debian" URI), or nothing, in
# which case debootstrap uses its built-in default.
host_debian_mirror() {
    if [[ -n ${CONSENT_IVR_DEBIAN_MIRROR:-} ]]; then
        printf '%s' "$CONSENT_IVR_DEBIAN_MIRROR"
        return 0
    fi
    local -a files=()
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] && files+=("$f")
    done
    ((${#files[@]} > 0)) || return 0
    awk '
        /^[[:space:]]*#/ { next }
        /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }
        /^deb[[:space:]]/ {
            for (i = 2; i <= NF; i++) {
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; continue }
                if ($i ~ /\/debian\/?$/) { print $i; exit }
                break
            }
        }' "${files[@]}"
}

# Refuse to delete anything that still has a mount inside it.
assert_nothing_mounted_under() {
    local dir=$1 mounts
    mounts=$(findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d') || true
    if [[ -n $mounts ]]; then
        die "cannot remove $dir: something is still mounted inside it: $(tr '\n' ' ' <<<"$mounts")"
    fi
}

check_free_space_for_build() {
    local probe=$CACHE avail_kb
    while [[ ! -d $probe ]]; do probe=$(dirname "$probe"); done
    avail_kb=$(df -Pk "$probe" | awk 'NR == 2 { print $4 }')
    if ((avail_kb < BUILD_MIN_FREE_KB)); then
        die "not enough disk space to build the Asterisk chroot: $((avail_kb / 1024)) MB free on the filesystem of $CACHE, 1536 MB needed (set CONSENT_IVR_SANDBOX_CACHE to another place)"
    fi
}

build_chroot() {
    check_free_space_for_build
    mkdir -p "$CACHE"
    # One build at a time per cache, whichever checkout asks.
    exec 8>"$CACHE/.build.lock"
    flock 8
    if chroot_ready; then
        return 0
    fi

    # A chroot directory without the marker is a leftover from a build made
    # by other means or a broken one: replace it.
    local leftover
    for leftover in "$CHROOT" "$CACHE"/chroot.building.*; do
        [[ -e $leftover ]] || continue
        assert_nothing_mounted_under "$leftover"
        log "removing unfinished chroot $leftover"
        rm -rf --one-file-system -- "$leftover"
    done

    local tmp mirror start build_log=$LOG_DIR/chroot-build.log
    tmp=$(mktemp -d "$CACHE/chroot.building.XXXXXX")
    mirror=$(host_debian_mirror)
    mkdir -p "$LOG_DIR"
    log "building the Asterisk chroot (Debian $CHROOT_SUITE, $CHROOT_PACKAGES) in $CHROOT; this takes a minute or two, log in $build_log"
    start=$(now_seconds)
    # shellcheck disable=SC2086  # $mirror is empty (no argument) or one URL
    if ! debootstrap --variant=minbase --include="$CHROOT_PACKAGES" \
        "$CHROOT_SUITE" "$tmp" $mirror >"$build_log" 2>&1; then
        tail -n 20 "$build_log" >&2
        # debootstrap may leave /proc or /sys mounted when it fails.
        umount_if_mounted "$tmp/proc"
        umount_if_mounted "$tmp/sys"
        assert_nothing_mounted_under "$tmp"
        rm -rf --one-file-system -- "$tmp"
        if grep -qiE 'Failed getting release file|Couldn.t download|Temporary failure resolving|Could not resolve|Connection (refused|timed out)' "$build_log"; then
            die "cannot reach the Debian mirror ${mirror:-(debootstrap default)} to build the chroot (log in $build_log)"
        fi
        die "debootstrap failed to build the Asterisk chroot (log in $build_log)"
    fi
    deny_service_starts_in_chroot "$tmp"
    chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
    if ! chroot "$tmp" asterisk -V >/dev/null 2>&1; then
        die "the freshly built chroot $tmp has no working asterisk binary (log in $build_log)"
    fi
    {
        printf 'built=%s\n' "$(date -u +%FT%TZ)"
        printf 'suite=%s\n' "$CHROOT_SUITE"
        printf 'packages=%s\n' "$CHROOT_PACKAGES"
        printf 'asterisk=%s\n' "$(chroot "$tmp" asterisk -V)"
    } >"$tmp/$READY_MARKER_NAME"
    chmod 0755 "$tmp"
    mv -T "$tmp" "$CHROOT"
    log "built the Asterisk chroot in $(elapsed_since "$start") s ($(chroot "$CHROOT" asterisk -V))"
}

# Commands run in the chroot get a clean environment.
in_chroot() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive chroot "$CHROOT" "$@"
}

# Install the packages of CHROOT_PACKAGES that an existing chroot lacks (it
# was built when the list was shorter). Cheap when nothing changed: the
# marker records the list the chroot was built or last completed with.
ensure_chroot_packages() {
    local marker=$CHROOT/$READY_MARKER_NAME recorded pkg
    recorded=$(sed -n 's/^packages=//p' "$marker")
    [[ $recorded == "$CHROOT_PACKAGES" ]] && return 0
    local -a missing=()
    for pkg in ${CHROOT_PACKAGES//,/ }; do
        # shellcheck disable=SC2016  # a dpkg-query format, not a shell expansion
        if [[ $(in_chroot dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} > 0)); then
        local apt_log=$LOG_DIR/chroot-apt.log
        log "installing into the chroot: ${missing[*]} (log in $apt_log)"
        deny_service_starts_in_chroot
        local -a apt_opts=()
        if ! chroot_apt_update "$apt_log" && grep -q 'is expired' "$apt_log"; then
            # sid's Release file is only valid for a week; a mirror that is a
            # dated snapshot serves it expired. Accept it, for this sandbox only.
            log "the mirror's sid Release file has expired (a dated snapshot?): retrying without the date check"
            apt_opts=(-o Acquire::Check-Valid-Until=false)
            chroot_apt_update "$apt_log" "${apt_opts[@]}" || true
        fi
        if grep -qE '^(E:|W: Failed to fetch|Err:)' "$apt_log"; then
            tail -n 15 "$apt_log" >&2
            die "apt-get update failed in the chroot, cannot install ${missing[*]} (mirror unreachable? log in $apt_log)"
        fi
        if ! in_chroot apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1; then
            tail -n 15 "$apt_log" >&2
            die "apt-get install ${missing[*]} in the chroot failed (log in $apt_log)"
        fi
        in_chroot apt-get clean >/dev/null 2>&1 || true
    fi
    sed -i "s|^packages=.*|packages=$CHROOT_PACKAGES|" "$marker"
}

# Debian points sounds/en, sounds/fr, ... at /etc/alternatives through
# absolute symlinks, which dangle when the chroot is seen from the host, where
# the voice prompts are written. Make such links relative: Asterisk inside the
# chroot sees the same directories, and so does the host.
make_sound_links_relative() {
    local sounds=/usr/share/asterisk/sounds link resolved
    for link in "$CHROOT$sounds"/*; do
        [[ -L $link && $(readlink "$link") == /* ]] || continue
        resolved=$(in_chroot readlink -f "$sounds/${link##*/}" 2>/dev/null) || continue
        [[ -n $resolved && -e $CHROOT$resolved ]] || continue
        ln -sfn "$(realpath -m --relative-to="$CHROOT$sounds" "$CHROOT$resolved")" "$link"
    done
}

# apt-get update in the chroot; fails when apt reports any error.
chroot_apt_update() {
    local apt_log=$1
    shift
    in_chroot apt-get "$@" update >"$apt_log" 2>&1 && ! grep -qE '^(E:|W: Failed to fetch|Err:)' "$apt_log"
}

# Packages installed in the chroot must not start their services there
# (Asterisk is started by this script only).
deny_service_starts_in_chroot() {
    local dir=${1:-$CHROOT}
    printf '#!/bin/sh\n# consent-ivr sandbox: never start services in this chroot.\nexit 101\n' \
        >"$dir/usr/sbin/policy-rc.d"
    chmod 0755 "$dir/usr/sbin/policy-rc.d"
}

# --------------------------------------------------------------------------
# Asterisk configuration

# The rest (secrets, rendering config/asterisk/*.conf with them, the dialplans,
# what to reload, the voice prompts and the signing key) is TypeScript:
# scripts/toolkit/sandbox.ts, run through this.
toolkit() {
    local main=$REPO/dist/tools/scripts/toolkit/cli.js stamp=$RUN_DIR/tools.stamp start out
    mkdir -p "$RUN_DIR"
    if [[ ! -f $main || ! -f $stamp ]] || [[ -n $(cd "$REPO" &&
        find scripts src tsconfig.json -newer "$stamp" -name '*.ts' -print -quit 2>/dev/null) ]]; then
        start=$(date +%s.%N)
        [[ -d $REPO/node_modules ]] || die "node_modules is missing: run npm ci first"
        out=$(cd "$REPO" && npx tsc -p scripts/tsconfig.json 2>&1) || { printf '%s\n' "$out" >&2; die "the toolkit does not compile (npx tsc -p scripts/tsconfig.json)"; }
        touch -d "@$start" "$stamp"
    fi
    node "$main" "$@"
}

# --------------------------------------------------------------------------
# Mounts

umount_if_mounted() {
    if mountpoint -q "$1" 2>/dev/null; then
        umount "$1" || die "cannot unmount $1 (still in use? see: fuser -vm $1)"
    fi
}

# True when both paths are the same directory (same device and inode).
same_dir() {
    local a b
    a=$(stat -c %d:%i -- "$1" 2>/dev/null) && b=$(stat -c %d:%i -- "$2" 2>/dev/null) && [[ $a == "$b" ]]
}

# A checkout deleted while its sandbox was up (a CI work tree, say) leaves its
# recordings bind mount in the shared chroot, pointing at a deleted folder.
# Files written through it vanish, so such mounts are removed.
prune_stale_mounts() {
    local target source
    while read -r target source; do
        target=$(printf '%b' "$target") # findmnt writes spaces and the like as \xNN
        [[ $target == "$CHROOT"/* && $source == *'//deleted]' ]] || continue
        log "removing a mount left by a deleted checkout: $target"
        umount "$target" 2>/dev/null || umount -l "$target" || die "cannot unmount $target"
    done < <(findmnt -rn -o TARGET,SOURCE)
}

ensure_mounts() {
    if ! mountpoint -q "$CHROOT/proc"; then
        mount -t proc proc "$CHROOT/proc" || die "cannot mount /proc in $CHROOT"
    fi
    prune_stale_mounts
    mkdir -p "$RECORDINGS_DIR"
    chmod 0750 "$RECORDINGS_DIR"
    local inside=$CHROOT$RECORDINGS_DIR
    mkdir -p "$inside"
    if mountpoint -q "$inside" && ! same_dir "$inside" "$RECORDINGS_DIR"; then
        # Mounted, but not from this checkout's folder: recordings would not reach it.
        log "$inside is mounted from another folder than $RECORDINGS_DIR: mounting it again"
        umount "$inside" 2>/dev/null || umount -l "$inside" || die "cannot unmount $inside"
    fi
    if ! mountpoint -q "$inside"; then
        mount --bind "$RECORDINGS_DIR" "$inside" || die "cannot bind-mount $RECORDINGS_DIR at $inside"
    fi
    same_dir "$inside" "$RECORDINGS_DIR" || die "$inside does not show $RECORDINGS_DIR after the bind mount; recordings would be lost"
}

release_mounts() {
    umount_if_mounted "$CHROOT$RECORDINGS_DIR"
    umount_if_mounted "$CHROOT/proc"
}

# --------------------------------------------------------------------------
# Asterisk

# Asterisk's pid when it runs in our chroot, or nothing.
asterisk_pid() {
    local pid root
    pid=$(read_first_line "$CHROOT$ASTERISK_PIDFILE_IN_CHROOT")
    process_is "$pid" asterisk || return 0
    root=$(readlink "/proc/$pid/root" 2>/dev/null) || return 0
    [[ $root == "$(realpath "$CHROOT")" ]] || return 0
    printf '%s' "$pid"
}

asterisk_rx() {
    in_chroot /usr/sbin/asterisk -rx "$1"
}

ASTERISK_MESSAGES_LOG=var/log/asterisk/messages.log

# Size of Asterisk's messages log, to find what a start or reload adds to it.
asterisk_log_offset() {
    stat -c %s "$CHROOT/$ASTERISK_MESSAGES_LOG" 2>/dev/null || echo 0
}

# Show the warnings and errors Asterisk logged since offset $1.
report_asterisk_log_since() {
    local offset=$1 file=$CHROOT/$ASTERISK_MESSAGES_LOG problems
    [[ -f $file ]] || return 0
    (($(stat -c %s "$file") >= offset)) || offset=0
    problems=$(tail -c +"$((offset + 1))" "$file" | grep -E '\] (WARNING|ERROR)\[' || true)
    if [[ -n $problems ]]; then
        log "Asterisk logged warnings or errors ($file):"
        printf '%s\n' "$problems" | sed 's/^/    /' >&2
    fi
}

asterisk_log_tail() {
    local messages=$CHROOT/$ASTERISK_MESSAGES_LOG
    if [[ -s $messages ]]; then
        printf -- '--- last lines of %s ---\n' "$messages" >&2
        tail -n 15 "$messages" >&2
    fi
    if [[ -s $LOG_DIR/asterisk-start.log ]]; then
        printf -- '--- output of the asterisk command (%s) ---\n' "$LOG_DIR/asterisk-start.log" >&2
        tail -n 15 "$LOG_DIR/asterisk-start.log" >&2
    fi
}

start_asterisk() {
    mkdir -p "$CHROOT/run/asterisk"
    rm -f "$CHROOT$ASTERISK_PIDFILE_IN_CHROOT"
    log "starting Asterisk"
    local start pid="" deadline log_offset
    start=$(now_seconds)
    log_offset=$(asterisk_log_offset)
    # A clean environment: nothing from the caller's shell leaks into Asterisk.
    # Without -U/-G it runs as root: the configuration belongs to the chroot's
    # asterisk user, whose uid means nothing on the host.
    if ! (
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        # Recordings are personal data: MixMonitor's folders come out 0750 and its files 0640.
        # (On a PBX, the same with UMask=0027 in asterisk.service.)
        umask 027
        exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            chroot "$CHROOT" /usr/sbin/asterisk
    ) >"$LOG_DIR/asterisk-start.log" 2>&1 8>&- 9>&-; then
        asterisk_log_tail
        die "Asterisk did not start"
    fi
    deadline=$((SECONDS + ASTERISK_BOOT_TIMEOUT))
    while :; do
        pid=$(asterisk_pid)
        # The command also returns 0 when Asterisk exits while it waits:
        # trust its message, and check the process is still there.
        if [[ -n $pid ]] && timeout 10 chroot "$CHROOT" /usr/sbin/asterisk -rx 'core waitfullybooted' 2>/dev/null |
            grep -q 'fully booted' && pid_running "$pid"; then
            break
        fi
        if ((SECONDS >= deadline)); then
            asterisk_log_tail
            die "Asterisk did not finish booting within ${ASTERISK_BOOT_TIMEOUT} s"
        fi
        # It writes its pid file before loading modules, and removes it on exit.
        if [[ -z $pid ]] && { [[ -s $CHROOT$ASTERISK_PIDFILE_IN_CHROOT ]] ||
            (($(elapsed_seconds_int "$start") >= 10)); }; then
            asterisk_log_tail
            die "Asterisk exited while booting"
        fi
        sleep 0.2
    done
    log "Asterisk is up (pid $pid) after $(elapsed_since "$start") s"
    report_asterisk_log_since "$log_offset"
}

stop_asterisk() {
    local pid
    pid=$(asterisk_pid)
    if [[ -z $pid ]]; then
        return 0
    fi
    log "stopping Asterisk (pid $pid)"
    timeout 15 chroot "$CHROOT" /usr/sbin/asterisk -rx 'core stop now' >/dev/null 2>&1 || true
    if ! wait_for_exit "$pid" "$ASTERISK_STOP_TIMEOUT"; then
        log "Asterisk did not stop within ${ASTERISK_STOP_TIMEOUT} s"
        terminate Asterisk "$pid" 10
    fi
}

# terminate NAME PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
terminate() {
    local name=$1 pid=$2 grace=$3
    log "sending SIGTERM to $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$grace"; then
        log "$name did not stop within $grace s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for_exit "$pid" 5 || die "cannot stop $name (pid $pid)"
    fi
}

wait_for_exit() {
    local pid=$1 timeout_s=$2 deadline
    deadline=$((SECONDS + timeout_s))
    while pid_running "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# Reload what changed in the configuration of the running Asterisk.
reload_asterisk() {
    local pid=$1 cmd out log_offset
    local -a cmds
    mapfile -t cmds < <(toolkit reload-plan "$pid" ${2:-})
    if ((${#cmds[@]} == 0)); then
        return 0
    fi
    log_offset=$(asterisk_log_offset)
    for cmd in "${cmds[@]}"; do
        [[ $cmd != RESTART ]] || continue
        log "asterisk: $cmd"
        if ! out=$(timeout 60 chroot "$CHROOT" /usr/sbin/asterisk -rx "$cmd" 2>&1); then
            die "'$cmd' failed: $out"
        fi
    done
    report_asterisk_log_since "$log_offset"
}

# True when ARI answers with this checkout's password.
ari_accepts_password() {
    toolkit status --json | grep -q '"ari":{[^}]*"running":true'
}

# --------------------------------------------------------------------------
# Redis

redis_pid() {
    local pid
    pid=$(read_first_line "$RUN_DIR/redis.pid")
    process_is "$pid" redis-server || return 0
    printf '%s' "$pid"
}

# True when something listens on TCP port $1 (ss is in iproute2, which a
# minimal host may lack: then only the Redis ping above detects a conflict).
port_listened() {
    command -v ss >/dev/null 2>&1 && ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

port_owner() {
    local owner=""
    if command -v ss >/dev/null 2>&1; then
        owner=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1)
        owner=${owner#users:((}
    fi
    printf '%s' "${owner:-unknown process}"
}

start_redis() {
    mkdir -p "$REDIS_DIR" "$LOG_DIR"
    chmod 0700 "$REDIS_DIR"
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 || port_listened "$REDIS_PORT"; then
        die "port $REDIS_PORT is already taken by another program ($(port_owner "$REDIS_PORT")); stop it (e.g. 'systemctl stop redis-server') or set CONSENT_IVR_REDIS_PORT"
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    rm -f "$RUN_DIR/redis.pid"
    if ! redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
        --pidfile "$RUN_DIR/redis.pid" --dir "$REDIS_DIR" \
        --logfile "$LOG_DIR/redis.log" --appendonly yes >/dev/null 2>&1 8>&- 9>&-; then
        tail -n 15 "$LOG_DIR/redis.log" >&2 || true
        die "redis-server did not start (log in $LOG_DIR/redis.log)"
    fi
    local deadline=$((SECONDS + REDIS_START_TIMEOUT))
    until [[ -n $(redis_pid) ]] && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
        if ((SECONDS >= deadline)); then
            tail -n 15 "$LOG_DIR/redis.log" >&2 || true
            die "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${REDIS_START_TIMEOUT} s (log in $LOG_DIR/redis.log)"
        fi
        sleep 0.1
    done
}

stop_redis() {
    local pid
    pid=$(redis_pid)
    if [[ -z $pid ]]; then
        rm -f "$RUN_DIR/redis.pid"
        return 0
    fi
    log "stopping Redis (pid $pid)"
    terminate Redis "$pid" 15
    rm -f "$RUN_DIR/redis.pid"
}

# --------------------------------------------------------------------------
# Subcommands

cmd_build() {
    require_root build
    mkdir -p "$LOG_DIR"
    install_host_packages
    if chroot_ready; then
        log "the Asterisk chroot is ready in $CHROOT"
    else
        build_chroot
    fi
    ensure_chroot_packages
}

cmd_up() {
    require_root up
    lock_state
    mkdir -p "$LOG_DIR" "$JOURNAL_DIR" "$REDIS_DIR"
    install_host_packages
    chroot_ready || build_chroot
    ensure_chroot_packages
    make_sound_links_relative
    toolkit secrets
    ln -sfn "$CHROOT/var/log/asterisk" "$LOG_DIR/asterisk"

    toolkit stage-config || die "staging the Asterisk configuration failed"
    ensure_mounts

    [[ -n $(redis_pid) ]] || start_redis

    local pid
    pid=$(asterisk_pid)
    if [[ -n $pid ]] && toolkit reload-plan "$pid" | grep -qx RESTART; then
        log "modules.conf or asterisk.conf changed: restarting Asterisk"
        stop_asterisk
        pid=""
    fi
    if [[ -z $pid ]]; then
        start_asterisk
        pid=$(asterisk_pid)
    else
        reload_asterisk "$pid"
    fi
    # The last word: ARI must accept this checkout's password. If it does not
    # (the running Asterisk loaded another checkout's configuration in a way
    # we could not see), reload everything once.
    if ! ari_accepts_password; then
        log "ARI refuses this checkout's password: reloading the whole configuration"
        reload_asterisk "$pid" --all
        ari_accepts_password || die "ARI at $ARI_URL does not accept the password in $SECRETS_DIR/ari-password (see $LOG_DIR/asterisk/messages.log)"
    fi
    toolkit record-loaded "$pid"

    toolkit provision || die "the services are up, but building the voice prompts or the signing key failed"
    toolkit status
}

cmd_down() {
    require_root down
    lock_state
    stop_asterisk
    stop_redis
    release_mounts
    log "sandbox stopped"
}

cmd_status() {
    require_root status
    case ${1:-} in
        --json) toolkit status --json ;;
        "") toolkit status ;;
        *) die "unknown option for status: $1 (expected --json)" ;;
    esac
}

cmd_cli() {
    require_root cli
    (($# > 0)) || die 'usage: sandbox.sh cli "<asterisk CLI command>"'
    [[ -n $(asterisk_pid) ]] || die "Asterisk is not running (start it with: npm run sandbox:up)"
    asterisk_rx "$*"
}

main() {
    [[ $REDIS_PORT =~ ^[0-9]+$ ]] || die "CONSENT_IVR_REDIS_PORT must be a port number, not '$REDIS_PORT'"
    local cmd=${1:-}
    (($# > 0)) && shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        cli) cmd_cli "$@" ;;
        build) cmd_build "$@" ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) usage >&2; die "unknown command: $cmd" ;;
    esac
}

main "$@"
