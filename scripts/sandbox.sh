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
#   sandbox.sh build          only install host packages, build the chroot and
#                             write the voice tools' wrappers ($STATE/bin)
#
# Environment:
#   CONSENT_IVR_SANDBOX_CACHE   where the chroot is kept   (/var/cache/consent-ivr)
#   CONSENT_IVR_SANDBOX_STATE   per-checkout state          (<repo>/.sandbox)
#   CONSENT_IVR_REDIS_PORT      Redis port                  (6379)
#   CONSENT_IVR_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the one
#                               the host's apt uses)
#
# What need not be bash (secrets, the Asterisk configuration and what to
# reload, the voice prompts, the status) is in test/support/ (the TypeScript toolkit).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
CACHE=$(realpath -m "${CONSENT_IVR_SANDBOX_CACHE:-/var/cache/consent-ivr}")
CHROOT=$CACHE/chroot
STATE=$(realpath -m "${CONSENT_IVR_SANDBOX_STATE:-$REPO/.sandbox}")
REDIS_PORT=${CONSENT_IVR_REDIS_PORT:-6379}
RUN_DIR=$STATE/run
LOG_DIR=$STATE/logs
REDIS_DIR=$STATE/redis
RECORDINGS_DIR=$STATE/recordings
# ARI_URL, AMI_PORT, ...: the coordinates shared with the toolkit.
# shellcheck source=sandbox.env
source "$SCRIPT_DIR/sandbox.env"

# The chroot counts as built only when this file exists in it.
READY_MARKER=$CHROOT/.consent-ivr-ready
CHROOT_SUITE=sid
# Debian packages of the chroot. Adding one here installs it into existing
# chroots on the next `up`. The hold music (1.7 MB) is there because Debian's
# musiconhold.conf points at it and Asterisk logs an error without it. The
# voices (espeak-ng with the MBROLA Arabic and French diphone voices, and Pico
# for French) are what `prompts build` speaks with: the host's apt has only
# main, and its espeak-ng no MBROLA, so the build runs them in the chroot
# through the wrappers that write_tool_wrappers puts in $STATE/bin.
CHROOT_PACKAGES=asterisk,asterisk-core-sounds-fr,asterisk-core-sounds-en,asterisk-moh-opsound-gsm,espeak-ng,mbrola,mbrola-ar1,mbrola-ar2,mbrola-fr1,mbrola-fr4,libttspico-utils
# Archive components of the chroot's apt: the MBROLA voices and Pico are not in main.
CHROOT_COMPONENTS="main contrib non-free"
# The chroot's tools that $STATE/bin runs from the host.
CHROOT_TOOLS=(espeak-ng mbrola pico2wave)
# Free space needed on the cache's filesystem to build the chroot (~500 MB used).
BUILD_MIN_FREE_MB=1536
ASTERISK_PIDFILE=$CHROOT/run/asterisk/asterisk.pid
ASTERISK_LOG=$CHROOT/var/log/asterisk/messages.log
# Host command:Debian package providing it.
HOST_PACKAGES=(debootstrap:debootstrap age:age age-keygen:age redis-server:redis-server redis-cli:redis-tools espeak-ng:espeak-ng sox:sox sipp:sip-tester chromium:chromium)
APT_FAILED='^(E:|W: Failed to fetch|Err:)'

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
require_root() { [[ $EUID -eq 0 ]] || die "must run as root (it uses chroot, mount and apt-get); try: sudo bash scripts/sandbox.sh $*"; }
# The last lines of a log file, to stderr, then die with $2.
die_with_log() { tail -n 15 "$1" >&2 || true; die "$2"; }

# Take an exclusive lock for the rest of the process (fd 9) so that two
# `up`/`down` of the same checkout never interleave. The daemons we start
# must not inherit fds 8 and 9, or they would hold the locks forever.
lock_state() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/lock"
    flock -n 9 && return 0
    log "waiting for another sandbox.sh working on $STATE"
    flock -w 300 9 || die "another sandbox.sh is still running for $STATE (lock $RUN_DIR/lock held for 5 minutes)"
}

# True while process $1 exists and is not a zombie (a daemon that exited
# stays a zombie until its parent reaps it, and kill -0 still succeeds then).
pid_running() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) && [[ ${stat##*) } != Z* ]]
}

process_is() { pid_running "$1" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }

first_line() { local line=""; [[ -r $1 ]] && { IFS= read -r line <"$1" || true; }; printf '%s' "$line"; }

# wait_for_exit PID SECONDS: false if it still runs after SECONDS.
wait_for_exit() {
    local deadline=$((SECONDS + $2))
    while pid_running "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# terminate NAME PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
terminate() {
    log "sending SIGTERM to $1 (pid $2)"
    kill -TERM "$2" 2>/dev/null || true
    wait_for_exit "$2" "$3" && return 0
    log "$1 did not stop within $3 s: sending SIGKILL"
    kill -KILL "$2" 2>/dev/null || true
    wait_for_exit "$2" 5 || die "cannot stop $1 (pid $2)"
}

# --------------------------------------------------------------------------
# Host packages

missing_host_packages() {
    local entry
    for entry in "${HOST_PACKAGES[@]}"; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || printf '%s\n' "${entry#*:}"
    done
}

install_host_packages() {
    local -a missing
    mapfile -t missing < <(missing_host_packages)
    ((${#missing[@]} > 0)) || return 0
    log "installing host packages: ${missing[*]}"
    local apt_log=$LOG_DIR/apt.log
    mkdir -p "$LOG_DIR"
    if ! apt-get update >"$apt_log" 2>&1 || grep -qE "$APT_FAILED" "$apt_log"; then
        die_with_log "$apt_log" "cannot reach the Debian package mirror (apt-get update failed, log in $apt_log); needed to install: ${missing[*]}"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 ||
        die_with_log "$apt_log" "apt-get install ${missing[*]} failed (log in $apt_log)"
    mapfile -t missing < <(missing_host_packages)
    ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
}

# --------------------------------------------------------------------------
# The chroot

chroot_ready() { [[ -f $READY_MARKER ]]; }

# Commands run in the chroot get a clean environment.
in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$CHROOT" "$@"; }

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

# Delete a directory, refusing when anything is still mounted inside it.
remove_tree() {
    local mounts
    mounts=$(findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d') || true
    [[ -z $mounts ]] || die "cannot remove $1: something is still mounted inside it: $(tr '\n' ' ' <<<"$mounts")"
    rm -rf --one-file-system -- "$1"
}

# Packages installed in the chroot must not start their services there
# (Asterisk is started by this script only).
deny_service_starts_in_chroot() {
    printf '#!/bin/sh\n# consent-ivr sandbox: never start services in this chroot.\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
    chmod 0755 "$1/usr/sbin/policy-rc.d"
}

build_chroot() {
    local probe=$CACHE
    while [[ ! -d $probe ]]; do probe=$(dirname "$probe"); done
    local avail_mb=$(($(df -Pk "$probe" | awk 'NR == 2 { print $4 }') / 1024))
    ((avail_mb >= BUILD_MIN_FREE_MB)) || die "not enough disk space to build the Asterisk chroot: $avail_mb MB free on the filesystem of $CACHE, $BUILD_MIN_FREE_MB MB needed (set CONSENT_IVR_SANDBOX_CACHE to another place)"
    mkdir -p "$CACHE" "$LOG_DIR"
    # One build at a time per cache, whichever checkout asks.
    exec 8>"$CACHE/.build.lock"
    flock 8
    chroot_ready && return 0
    # A chroot directory without the marker is a leftover from a build made
    # by other means or a broken one: replace it.
    local leftover
    for leftover in "$CHROOT" "$CACHE"/chroot.building.*; do
        [[ -e $leftover ]] || continue
        log "removing unfinished chroot $leftover"
        remove_tree "$leftover"
    done
    local tmp mirror build_log=$LOG_DIR/chroot-build.log start=$SECONDS
    tmp=$(mktemp -d "$CACHE/chroot.building.XXXXXX")
    mirror=$(host_debian_mirror)
    log "building the Asterisk chroot (Debian $CHROOT_SUITE, $CHROOT_PACKAGES) in $CHROOT; this takes a minute or two, log in $build_log"
    # shellcheck disable=SC2086  # $mirror is empty (no argument) or one URL
    if ! debootstrap --variant=minbase --components="${CHROOT_COMPONENTS// /,}" --include="$CHROOT_PACKAGES" "$CHROOT_SUITE" "$tmp" $mirror >"$build_log" 2>&1; then
        tail -n 20 "$build_log" >&2
        # debootstrap may leave /proc or /sys mounted when it fails.
        umount_if_mounted "$tmp/proc"
        umount_if_mounted "$tmp/sys"
        remove_tree "$tmp"
        if grep -qiE 'Failed getting release file|Couldn.t download|Temporary failure resolving|Could not resolve|Connection (refused|timed out)' "$build_log"; then
            die "cannot reach the Debian mirror ${mirror:-(debootstrap default)} to build the chroot (log in $build_log)"
        fi
        die "debootstrap failed to build the Asterisk chroot (log in $build_log)"
    fi
    deny_service_starts_in_chroot "$tmp"
    chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
    chroot "$tmp" asterisk -V >/dev/null 2>&1 || die "the freshly built chroot $tmp has no working asterisk binary (log in $build_log)"
    printf 'built=%s\nsuite=%s\npackages=%s\nasterisk=%s\n' "$(date -u +%FT%TZ)" "$CHROOT_SUITE" "$CHROOT_PACKAGES" "$(chroot "$tmp" asterisk -V)" >"$tmp/${READY_MARKER##*/}"
    chmod 0755 "$tmp"
    mv -T "$tmp" "$CHROOT"
    log "built the Asterisk chroot in $((SECONDS - start)) s ($(chroot "$CHROOT" asterisk -V))"
}

# apt-get update in the chroot; fails when apt reports any error.
chroot_apt_update() {
    local apt_log=$1
    shift
    in_chroot apt-get "$@" update >"$apt_log" 2>&1 && ! grep -qE "$APT_FAILED" "$apt_log"
}

# The chroot's apt sources carry CHROOT_COMPONENTS (a chroot built before
# they were needed has main only): each one-line `deb` entry of sources.list
# for our suite gets the components it lacks; nothing else there changes.
ensure_chroot_sources() {
    local list=$CHROOT/etc/apt/sources.list line comp changed=0 tmp
    [[ -f $list ]] || return 0
    local -a lines=() words
    while IFS= read -r line || [[ -n $line ]]; do
        read -r -a words <<<"$line"
        if [[ ${words[0]:-} == deb && ${words[2]:-} == "$CHROOT_SUITE" ]]; then
            for comp in $CHROOT_COMPONENTS; do
                [[ " ${words[*]:3} " == *" $comp "* ]] || { line="$line $comp"; changed=1; }
            done
        fi
        lines+=("$line")
    done <"$list"
    ((changed)) || return 0
    log "adding the archive components $CHROOT_COMPONENTS to the chroot's apt sources"
    tmp=$(mktemp "$list.XXXXXX")
    printf '%s\n' "${lines[@]}" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$list"
}

# Install the packages of CHROOT_PACKAGES that an existing chroot lacks (it
# was built when the list was shorter). Cheap when nothing changed: the
# marker records the list the chroot was built or last completed with.
ensure_chroot_packages() {
    [[ $(sed -n 's/^packages=//p' "$READY_MARKER") == "$CHROOT_PACKAGES" ]] && return 0
    local -a missing=() apt_opts=()
    local pkg apt_log=$LOG_DIR/chroot-apt.log
    for pkg in ${CHROOT_PACKAGES//,/ }; do
        # shellcheck disable=SC2016  # a dpkg-query format, not a shell expansion
        [[ $(in_chroot dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
    done
    if ((${#missing[@]} > 0)); then
        log "installing into the chroot: ${missing[*]} (log in $apt_log)"
        deny_service_starts_in_chroot "$CHROOT"
        if ! chroot_apt_update "$apt_log" && grep -q 'is expired' "$apt_log"; then
            # sid's Release file is only valid for a week; a mirror that is a
            # dated snapshot serves it expired. Accept it, for this sandbox only.
            log "the mirror's sid Release file has expired (a dated snapshot?): retrying without the date check"
            apt_opts=(-o Acquire::Check-Valid-Until=false)
            chroot_apt_update "$apt_log" "${apt_opts[@]}" || true
        fi
        ! grep -qE "$APT_FAILED" "$apt_log" || die_with_log "$apt_log" "apt-get update failed in the chroot, cannot install ${missing[*]} (mirror unreachable? log in $apt_log)"
        in_chroot apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 ||
            die_with_log "$apt_log" "apt-get install ${missing[*]} in the chroot failed (log in $apt_log)"
        in_chroot apt-get clean >/dev/null 2>&1 || true
    fi
    sed -i "s|^packages=.*|packages=$CHROOT_PACKAGES|" "$READY_MARKER"
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

# The text of the wrapper that runs the chroot's tool $1 from the host.
# espeak-ng and mbrola are given the chroot's paths: consent-ivr uses their
# standard input and output. pico2wave writes the file its -w names, so its
# wrapper has it write into the chroot's /tmp and copies that to the host
# path the caller gave.
tool_wrapper() {
    printf '#!/bin/bash\n# consent-ivr sandbox: %s of the chroot (written by scripts/sandbox.sh).\n' "$1"
    printf 'CHROOT=%q\nTOOL=%q\n' "$CHROOT" "$1"
    if [[ $1 != pico2wave ]]; then
        # shellcheck disable=SC2016  # the wrapper's own expansions, written as they are
        printf '%s\n' 'exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$CHROOT" "$TOOL" "$@"'
        return 0
    fi
    cat <<'WRAPPER'
set -euo pipefail
in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$CHROOT" "$@"; }
out="" args=()
while (($# > 0)); do
    case $1 in
        -w | --wave) out=${2:-}; shift 2 || shift ;;
        --wave=*) out=${1#--wave=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ -n $out ]] || { echo "pico2wave (sandbox): -w FILE.wav is needed" >&2; exit 2; }
tmp=$(in_chroot mktemp --suffix=.wav /tmp/consent-ivr-pico.XXXXXX)
trap 'rm -f -- "$CHROOT$tmp"' EXIT
in_chroot "$TOOL" -w "$tmp" "${args[@]}"
cat -- "$CHROOT$tmp" >"$out"
WRAPPER
}

# $STATE/bin: the chroot's voice tools, run from the host (config/sandbox.yaml
# names it in prompts.toolPath), and $STATE/share: links to the chroot's voice
# data, where consent-ivr looks for the voices a tool of that folder has.
# Files are rewritten only when they differ.
write_tool_wrappers() {
    local bin=$STATE/bin share=$STATE/share tool body tmp
    mkdir -p "$bin" "$share"
    for tool in "${CHROOT_TOOLS[@]}"; do
        body=$(tool_wrapper "$tool")
        [[ -f $bin/$tool && $(cat "$bin/$tool") == "$body" ]] && continue
        tmp=$(mktemp "$bin/.$tool.XXXXXX")
        printf '%s\n' "$body" >"$tmp"
        chmod 0755 "$tmp"
        mv -f "$tmp" "$bin/$tool"
    done
    [[ $(readlink "$share/mbrola" 2>/dev/null) == "$CHROOT/usr/share/mbrola" ]] || ln -sfn "$CHROOT/usr/share/mbrola" "$share/mbrola"
    [[ $(readlink "$share/pico" 2>/dev/null) == "$CHROOT/usr/share/pico" ]] || ln -sfn "$CHROOT/usr/share/pico" "$share/pico"
}

# --------------------------------------------------------------------------
# The toolkit (test/support/cli.ts), compiled when its sources changed.

toolkit() {
    local main=$REPO/dist/tools/test/support/cli.js stamp=$RUN_DIR/tools.stamp start out
    mkdir -p "$RUN_DIR"
    if [[ ! -f $main || ! -f $stamp ]] || [[ -n $(cd "$REPO" && find scripts test/support src tsconfig.json -newer "$stamp" -name '*.ts' -print -quit 2>/dev/null) ]]; then
        start=$(date +%s.%N)
        [[ -d $REPO/node_modules ]] || die "node_modules is missing: run npm ci first"
        out=$(cd "$REPO" && npx tsc -p scripts/tsconfig.json 2>&1) || { printf '%s\n' "$out" >&2; die "the toolkit does not compile (npx tsc -p scripts/tsconfig.json)"; }
        touch -d "@$start" "$stamp"
    fi
    node "$main" "$@"
}

# --------------------------------------------------------------------------
# Mounts

umount_if_mounted() { ! mountpoint -q "$1" 2>/dev/null || umount "$1" || die "cannot unmount $1 (still in use? see: fuser -vm $1)"; }
umount_now() { umount "$1" 2>/dev/null || umount -l "$1" || die "cannot unmount $1"; }

# True when both paths are the same directory (same device and inode).
same_dir() {
    local a b
    a=$(stat -c %d:%i -- "$1" 2>/dev/null) && b=$(stat -c %d:%i -- "$2" 2>/dev/null) && [[ $a == "$b" ]]
}

ensure_mounts() {
    mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc" || die "cannot mount /proc in $CHROOT"
    # A checkout deleted while its sandbox was up (a CI work tree, say) leaves
    # its recordings bind mount in the shared chroot, pointing at a deleted
    # folder. Files written through it vanish, so such mounts are removed.
    local target source
    while read -r target source; do
        target=$(printf '%b' "$target") # findmnt writes spaces and the like as \xNN
        [[ $target == "$CHROOT"/* && $source == *'//deleted]' ]] || continue
        log "removing a mount left by a deleted checkout: $target"
        umount_now "$target"
    done < <(findmnt -rn -o TARGET,SOURCE)
    mkdir -p "$RECORDINGS_DIR"
    chmod 0750 "$RECORDINGS_DIR"
    local inside=$CHROOT$RECORDINGS_DIR
    mkdir -p "$inside"
    if mountpoint -q "$inside" && ! same_dir "$inside" "$RECORDINGS_DIR"; then
        # Mounted, but not from this checkout's folder: recordings would not reach it.
        log "$inside is mounted from another folder than $RECORDINGS_DIR: mounting it again"
        umount_now "$inside"
    fi
    mountpoint -q "$inside" || mount --bind "$RECORDINGS_DIR" "$inside" || die "cannot bind-mount $RECORDINGS_DIR at $inside"
    same_dir "$inside" "$RECORDINGS_DIR" || die "$inside does not show $RECORDINGS_DIR after the bind mount; recordings would be lost"
}

# --------------------------------------------------------------------------
# Asterisk

# Asterisk's pid when it runs in our chroot, or nothing.
asterisk_pid() {
    local pid
    pid=$(first_line "$ASTERISK_PIDFILE")
    process_is "$pid" asterisk && [[ $(readlink "/proc/$pid/root" 2>/dev/null) == "$(realpath "$CHROOT")" ]] && printf '%s' "$pid"
    return 0
}

asterisk_rx() { timeout 60 chroot "$CHROOT" /usr/sbin/asterisk -rx "$1"; }
asterisk_log_size() { stat -c %s "$ASTERISK_LOG" 2>/dev/null || echo 0; }

# Show the warnings and errors Asterisk logged since offset $1.
report_asterisk_log_since() {
    local offset=$1 problems
    [[ -f $ASTERISK_LOG ]] || return 0
    (($(asterisk_log_size) >= offset)) || offset=0
    problems=$(tail -c +"$((offset + 1))" "$ASTERISK_LOG" | grep -E '\] (WARNING|ERROR)\[' || true)
    [[ -z $problems ]] || { log "Asterisk logged warnings or errors ($ASTERISK_LOG):"; sed 's/^/    /' <<<"$problems" >&2; }
}

# Die with $1, after the last lines of what Asterisk said.
asterisk_failed() {
    local f
    for f in "$ASTERISK_LOG" "$LOG_DIR/asterisk-start.log"; do
        [[ -s $f ]] && { printf -- '--- last lines of %s ---\n' "$f" >&2; tail -n 15 "$f" >&2; }
    done
    die "$1"
}

start_asterisk() {
    mkdir -p "$CHROOT/run/asterisk"
    rm -f "$ASTERISK_PIDFILE"
    log "starting Asterisk"
    local pid="" start=$SECONDS deadline=$((SECONDS + 90)) log_offset
    log_offset=$(asterisk_log_size)
    # A clean environment: nothing from the caller's shell leaks into Asterisk.
    # Without -U/-G it runs as root: the configuration belongs to the chroot's
    # asterisk user, whose uid means nothing on the host.
    (
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        # Recordings are personal data: MixMonitor's folders come out 0750 and its files 0640.
        # (On a PBX, the same with UMask=0027 in asterisk.service.)
        umask 027
        exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$CHROOT" /usr/sbin/asterisk
    ) >"$LOG_DIR/asterisk-start.log" 2>&1 8>&- 9>&- || asterisk_failed "Asterisk did not start"
    # The command also returns 0 when Asterisk exits while it waits: trust its
    # message, and check the process is still there.
    until pid=$(asterisk_pid) && [[ -n $pid ]] &&
        timeout 10 chroot "$CHROOT" /usr/sbin/asterisk -rx 'core waitfullybooted' 2>/dev/null | grep -q 'fully booted' && process_is "$pid" asterisk; do
        ((SECONDS < deadline)) || asterisk_failed "Asterisk did not finish booting within 90 s"
        # It writes its pid file before loading modules, and removes it on exit.
        if [[ -z $pid ]] && { [[ -s $ASTERISK_PIDFILE ]] || ((SECONDS - start >= 10)); }; then
            asterisk_failed "Asterisk exited while booting"
        fi
        sleep 0.2
    done
    log "Asterisk is up (pid $pid) after $((SECONDS - start)) s"
    report_asterisk_log_since "$log_offset"
}

stop_asterisk() {
    local pid
    pid=$(asterisk_pid)
    [[ -n $pid ]] || return 0
    log "stopping Asterisk (pid $pid)"
    timeout 15 chroot "$CHROOT" /usr/sbin/asterisk -rx 'core stop now' >/dev/null 2>&1 || true
    wait_for_exit "$pid" 30 && return 0
    log "Asterisk did not stop within 30 s"
    terminate Asterisk "$pid" 10
}

# Reload what changed in the configuration of the running Asterisk ($2: --all, everything).
reload_asterisk() {
    local cmd out log_offset
    local -a cmds
    mapfile -t cmds < <(toolkit reload-plan "$1" ${2:-})
    log_offset=$(asterisk_log_size)
    for cmd in "${cmds[@]}"; do
        [[ $cmd != RESTART ]] || continue
        log "asterisk: $cmd"
        out=$(asterisk_rx "$cmd" 2>&1) || die "'$cmd' failed: $out"
    done
    report_asterisk_log_since "$log_offset"
}

ari_accepts_password() { toolkit status --json | grep -q '"ari":{[^}]*"running":true'; }

# --------------------------------------------------------------------------
# Redis

redis_pid() {
    local pid
    pid=$(first_line "$RUN_DIR/redis.pid")
    process_is "$pid" redis-server && printf '%s' "$pid"
    return 0
}

redis_answers() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start_redis() {
    mkdir -p "$REDIS_DIR" "$LOG_DIR"
    chmod 0700 "$REDIS_DIR"
    # ss (iproute2) may be missing on a minimal host: then only the ping detects a conflict.
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 || { command -v ss >/dev/null && ss -Hltn "sport = :$REDIS_PORT" | grep -q .; }; then
        local owner
        owner=$(ss -Hltnp "sport = :$REDIS_PORT" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1) || true
        owner=${owner#users:((}
        die "port $REDIS_PORT is already taken by another program (${owner:-unknown process}); stop it (e.g. 'systemctl stop redis-server') or set CONSENT_IVR_REDIS_PORT"
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    rm -f "$RUN_DIR/redis.pid"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$RUN_DIR/redis.pid" --dir "$REDIS_DIR" \
        --logfile "$LOG_DIR/redis.log" --appendonly yes >/dev/null 2>&1 8>&- 9>&- ||
        die_with_log "$LOG_DIR/redis.log" "redis-server did not start (log in $LOG_DIR/redis.log)"
    local deadline=$((SECONDS + 15))
    until [[ -n $(redis_pid) ]] && redis_answers; do
        ((SECONDS < deadline)) || die_with_log "$LOG_DIR/redis.log" "Redis did not answer on 127.0.0.1:$REDIS_PORT within 15 s (log in $LOG_DIR/redis.log)"
        sleep 0.1
    done
}

stop_redis() {
    local pid
    pid=$(redis_pid)
    if [[ -n $pid ]]; then
        log "stopping Redis (pid $pid)"
        terminate Redis "$pid" 15
    fi
    rm -f "$RUN_DIR/redis.pid"
}

# --------------------------------------------------------------------------
# Subcommands

cmd_build() {
    require_root build
    mkdir -p "$LOG_DIR"
    install_host_packages
    if chroot_ready; then log "the Asterisk chroot is ready in $CHROOT"; else build_chroot; fi
    ensure_chroot_sources
    ensure_chroot_packages
    write_tool_wrappers
}

cmd_up() {
    require_root up
    lock_state
    mkdir -p "$LOG_DIR" "$STATE/journal" "$REDIS_DIR"
    install_host_packages
    chroot_ready || build_chroot
    ensure_chroot_sources
    ensure_chroot_packages
    write_tool_wrappers
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
        ari_accepts_password || die "ARI at $ARI_URL does not accept the password in $STATE/secrets/ari-password (see $LOG_DIR/asterisk/messages.log)"
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
    umount_if_mounted "$CHROOT$RECORDINGS_DIR"
    umount_if_mounted "$CHROOT/proc"
    log "sandbox stopped"
}

cmd_status() {
    require_root status
    [[ ${1:---json} == --json ]] || die "unknown option for status: $1 (expected --json)"
    toolkit status "$@"
}

cmd_cli() {
    require_root cli
    (($# > 0)) || die 'usage: sandbox.sh cli "<asterisk CLI command>"'
    [[ -n $(asterisk_pid) ]] || die "Asterisk is not running (start it with: npm run sandbox:up)"
    asterisk_rx "$*"
}

[[ $REDIS_PORT =~ ^[0-9]+$ ]] || die "CONSENT_IVR_REDIS_PORT must be a port number, not '$REDIS_PORT'"
cmd=${1:-}
(($# > 0)) && shift
case $cmd in
    up | down | status | cli | build) "cmd_$cmd" "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) usage >&2; die "unknown command: $cmd" ;;
esac
