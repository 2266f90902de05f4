#!/usr/bin/env bash
# CI: build the real Dockerfile with podman, offline, and check the image it makes (docs/bake.md).
#
#   scripts/ci-image.sh [--cold] [--warm=builder|all|none] [--keep]
#
# On Debian 12 (bookworm), as root (CI runs as root on a fresh machine). Installs what it needs and
# reuses what is already there, so a second run skips straight to the builds:
#   1. podman, buildah, mmdebstrap, runc, ... (apt-get), when missing;
#   2. its own podman configuration and image store under $AOTGEMM_CI_STATE (the host's
#      /etc/containers and /var/lib/containers are left alone);
#   3. two base images made from Debian packages, no registry needed (mmdebstrap | podman import):
#      runtime: python3 3.11, python3-venv, ca-certificates, passwd; builder: the same and g++;
#   4. wheelhouse/ in the build context (pip download on the host: a CPU torch, aotgemm's
#      dependencies with the [build] extra, setuptools): the build installs from it, offline;
#   5. podman build --network none of both stages of ./Dockerfile: the builder, then the runtime
#      image with CPU torch;
#   6. checks on the runtime image: verify, verify --env (no GPU), the runtime imports and the
#      compiler is absent, the user is not root, `podman healthcheck run`;
#   7. a rebuild with --no-cache and the cache mounts warm: of the builder stage (--warm=builder,
#      the default: the runtime stage has no cache to gain from), of both (all), or none;
#   8. prints sizes and times.
#
# --cold: empty the build's cache mounts (pip, compile cache) first, to measure a cold build here
# (on a fresh machine they are empty anyway). --keep: keep the images (default: removed at the end,
# base images kept). Knobs: AOTGEMM_CI_STATE (default /var/tmp/aotgemm-ci-image), AOTGEMM_CI_PYTHON
# (the interpreter whose pip fills the wheelhouse; CPython 3.11 like the base; default python3),
# AOTGEMM_CI_TORCH (default torch==2.13.0+cpu), AOTGEMM_CI_TORCH_INDEX_URL (an index to take torch
# from, e.g. https://download.pytorch.org/whl/cpu; default: pip's configuration), AOTGEMM_CI_MIRROR
# (a Debian mirror for mmdebstrap; default its own).
set -euo pipefail
shopt -s inherit_errexit  # also inside $(...)

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

cold=0 warm=builder keep=0
for a in "$@"; do
    case $a in
        --cold) cold=1 ;;
        --warm=builder|--warm=all|--warm=none) warm=${a#--warm=} ;;
        --no-warm) warm=none ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "ci-image: unknown option $a (see --help)" >&2; exit 2 ;;
    esac
done

STATE=${AOTGEMM_CI_STATE:-/var/tmp/aotgemm-ci-image}
PY=${AOTGEMM_CI_PYTHON:-python3}
TORCH=${AOTGEMM_CI_TORCH:-torch==2.13.0+cpu}
SUITE=bookworm
IMAGE=localhost/aotgemm-ci
WHEELHOUSE=wheelhouse
HC_NAME=aotgemm-ci-health-$$

say() { printf 'ci-image: %s\n' "$*" >&2; }
die() { printf 'ci-image: error: %s\n' "$*" >&2; exit 1; }
t_start=$SECONDS
declare -A T=()  # phase -> seconds

# --- 1. tools ------------------------------------------------------------------------------------
t0=$SECONDS
pkgs=(podman buildah mmdebstrap runc crun fuse-overlayfs slirp4netns uidmap netavark aardvark-dns iptables)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root, or install them"
    say "installing ${missing[*]}"
    apt-get update -q >/dev/null
    # With their recommended packages, as checked on these machines (catatonit, dbus-user-session, ...).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
[ "$(id -u)" = 0 ] || die "run as root (the builds use a rootful podman store under $STATE)"
T[tools]=$((SECONDS - t0))

# --- 2. podman configuration and store of our own --------------------------------------------------
mkdir -p "$STATE"
# runc: crun refuses these machines' hybrid cgroups. The default ulimits cannot be set here.
cat >"$STATE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
EOF
cat >"$STATE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$STATE/storage"
runroot = "$STATE/run"
EOF
export CONTAINERS_CONF="$STATE/containers.conf" CONTAINERS_STORAGE_CONF="$STATE/storage.conf"
podman --version >&2

# --- 3. base images from Debian packages -----------------------------------------------------------
t0=$SECONDS
base_image() {  # name, packages (comma-separated) -> prints the image's name; made when missing
    local name=$1 include=$2 tag
    tag=$(printf '%s %s %s' "$SUITE" minbase "$include" | sha256sum | cut -c1-12)
    local ref="localhost/aotgemm-ci-base:$name-$SUITE-$tag"
    if ! podman image exists "$ref"; then
        say "making $ref from Debian packages ($include)"
        mkdir -p "$STATE/debs"
        # The downloaded .debs are kept in $STATE/debs: the second image fetches only what it adds.
        # shellcheck disable=SC2016  # $1 is mmdebstrap's, for its hooks
        mmdebstrap --quiet --variant=minbase --include="$include" --skip=essential/unlink \
            --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
            --setup-hook="sync-in $STATE/debs /var/cache/apt/archives/" \
            --customize-hook="sync-out /var/cache/apt/archives $STATE/debs" \
            --format=tar "$SUITE" - ${AOTGEMM_CI_MIRROR:+"$AOTGEMM_CI_MIRROR"} \
            | podman import --quiet \
                --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                --change 'CMD ["/bin/bash"]' - "$ref" >/dev/null \
            || die "making the base image $ref failed (mmdebstrap | podman import)"
    fi
    printf '%s\n' "$ref"
}
base_runtime=$(base_image runtime python3,python3-venv,ca-certificates,passwd)
base_builder=$(base_image builder python3,python3-venv,ca-certificates,passwd,g++)
T[base]=$((SECONDS - t0))

# --- 4. the wheelhouse ------------------------------------------------------------------------------
t0=$SECONDS
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) or sys.implementation.name != "cpython")' \
    || die "$PY is not CPython 3.11 (the base images' Python): set AOTGEMM_CI_PYTHON"
"$PY" -m pip --version >/dev/null 2>&1 || die "$PY has no pip: set AOTGEMM_CI_PYTHON to one that has"
reqs=$("$PY" - "$TORCH" <<'EOF'
import sys, tomllib
d = tomllib.load(open("pyproject.toml", "rb"))
# torch first and pinned (a CPU build); the build backend (the wheel is built in the image);
# the runtime dependencies and the [build] extra.
print("\n".join([sys.argv[1], *d["build-system"]["requires"], *d["project"]["dependencies"],
                 *d["project"]["optional-dependencies"]["build"]]))
EOF
)
key=$(printf '%s\n%s\n' "$reqs" "${AOTGEMM_CI_TORCH_INDEX_URL:-}" | sha256sum | cut -c1-16)
mkdir -p "$WHEELHOUSE"
printf '*\n' >"$WHEELHOUSE/.gitignore"  # never committed
if [ "$(cat "$WHEELHOUSE/.complete" 2>/dev/null)" != "$key" ]; then
    say "filling $WHEELHOUSE/ (pip download: $(echo "$reqs" | paste -sd' '))"
    rm -f "$WHEELHOUSE"/*.whl "$WHEELHOUSE/.complete"
    printf '%s\n' "$reqs" >"$WHEELHOUSE/requirements.txt"
    # pip's own configuration (find-links, extra indexes) applies; --only-binary: nothing is built.
    "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d "$WHEELHOUSE" \
        ${AOTGEMM_CI_TORCH_INDEX_URL:+--extra-index-url "$AOTGEMM_CI_TORCH_INDEX_URL"} \
        -r "$WHEELHOUSE/requirements.txt" 2>&1 | { grep -v 'is neither a file nor a directory' || true; } >&2
    printf '%s\n' "$key" >"$WHEELHOUSE/.complete"
fi
torch_whl=$(cd "$WHEELHOUSE" && ls torch-*.whl)
case $torch_whl in
    *+cpu*) ;;
    *) die "the wheelhouse's torch is not a CPU build ($torch_whl): set AOTGEMM_CI_TORCH / AOTGEMM_CI_TORCH_INDEX_URL" ;;
esac
if ls "$WHEELHOUSE" | grep -qiE '^nvidia_(cuda|cublas|cudnn|nccl)'; then
    die "the wheelhouse holds CUDA libraries for torch: $(ls "$WHEELHOUSE" | grep -iE '^nvidia_(cuda|cublas)' | head -3 | paste -sd' ')"
fi
T[wheelhouse]=$((SECONDS - t0))

# --- 5. build -------------------------------------------------------------------------------------------
cache_dir="${TMPDIR:-/var/tmp}/buildah-cache"  # where rootful buildah keeps RUN --mount=type=cache, by target
build_args=(--format docker --network none --pull=never
    --build-arg "BUILDER_IMAGE=$base_builder" --build-arg "RUNTIME_IMAGE=$base_runtime"
    --build-arg "WHEELHOUSE=$WHEELHOUSE" --build-arg ALLOW_CPU_TORCH=1
    --build-arg BUILDER_TORCH_INDEX_URL= --build-arg TORCH_INDEX_URL=
    -f "$root/Dockerfile")

forget_images() {
    # buildah 1.28's layer cache keys a RUN by its text, not by what it bind-mounts (an old layer
    # would be reused after a source change), and a stage taken whole from the cache cannot be
    # bind-mounted by a later stage (buildah#4375). So every pass starts from the base images alone.
    podman rmi --force "$IMAGE:builder" "$IMAGE:runtime" >/dev/null 2>&1 || true
    local i dangling err
    for i in 1 2 3 4 5 6 7 8; do
        dangling=$(podman images --quiet --no-trunc --filter dangling=true)
        [ -n "$dangling" ] || break
        podman image prune --force >/dev/null 2>&1 && continue
        # A container still holds an untagged image: one of buildah's working containers ("external"
        # to podman) outlived its build step (seen once in CI, after the warm rebuild). Remove the
        # containers made from untagged images, which are ours, and try again.
        podman ps --all --external --no-trunc --format '{{.ID}} {{.ImageID}}' 2>/dev/null \
            | while read -r cid iid; do
                if grep -qF "${iid#sha256:}" <<<"$dangling"; then podman rm --force --time 0 "$cid" >/dev/null 2>&1 || true; fi
            done
        err=$(podman image prune --force 2>&1 >/dev/null) \
            || { say "warning: untagged images are still in use after removing their containers: $(tail -n 1 <<<"$err")"; break; }
    done
}

stamp() { while IFS= read -r line; do printf '%d %s\n' "$SECONDS" "$line"; done; }

build_pass() {  # label: one podman build runs both stages; then the builder stage is tagged from the cache
    local label=$1 t log="$STATE/build-$1.log"
    forget_images
    t=$SECONDS
    say "[$label] podman build (both stages; log: $log)"
    podman build "${build_args[@]}" -t "$IMAGE:runtime" "$root" 2>&1 | stamp >"$log" \
        || { tail -n 60 "$log" >&2; die "the image build failed ($log)"; }
    local t_end=$SECONDS t_rt
    t_rt=$(awk '/ \[2\/2\] STEP 1\// { print $1; exit }' "$log")
    T[$label-builder]=$((t_rt - t)) T[$label-runtime]=$((t_end - t_rt))
    podman build "${build_args[@]}" --target builder -t "$IMAGE:builder" "$root" >"$STATE/build-$label-tag.log" 2>&1 \
        || { tail -n 30 "$STATE/build-$label-tag.log" >&2; die "tagging the builder stage failed"; }
    say "[$label] builder stage ${T[$label-builder]} s, runtime stage ${T[$label-runtime]} s"
    grep -E '^[0-9]+ bake: (builder|runtime): ' "$log" | cut -d' ' -f2- >&2 || true
}

if ((cold)); then
    say "--cold: emptying the cache mounts under $cache_dir"
    rm -rf "$cache_dir/root/.cache/pip" "$cache_dir/root/.cache/aotgemm"
fi
# "cold": the compile cache mount is empty (always so on a fresh machine); "first": it is not, but
# what it holds may not match this source (a kernel's cache key covers its source and compiler).
first=first
[ -n "$(ls -A "$cache_dir/root/.cache/aotgemm" 2>/dev/null)" ] || first=cold
build_pass "$first"

# --- 6. checks on the runtime image ----------------------------------------------------------------------
t0=$SECONDS
fails=0
check() {  # description, then a command that succeeds when the check holds
    local what=$1
    shift
    if "$@"; then say "ok: $what"; else say "FAILED: $what"; fails=$((fails + 1)); fi
}
# --no-healthcheck: podman would try to set up a systemd timer for the HEALTHCHECK (none here).
prun() { podman run --rm --network none --no-healthcheck "$IMAGE:runtime" "$@"; }

out=$(prun aotgemm verify /opt/aotgemm/model.agb 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out" >&2
check "aotgemm verify /opt/aotgemm/model.agb exits 0" test "$rc" = 0
check "... and says OK" grep -qE '^/opt/aotgemm/model.agb: OK: format v[0-9]+, 1 target' <<<"$out"

env_out=$(prun aotgemm verify --env 2>&1) && env_rc=0 || env_rc=$?
printf '%s\n' "$env_out" >&2
check "aotgemm verify --env exits 1 (no GPU here)" test "$env_rc" = 1
check "... with the one-line \"no GPU\" reason" grep -qE '^ *(- )?no GPU: ' <<<"$env_out"
check "... and no traceback" bash -c '! grep -q Traceback <<<"$1"' _ "$env_out"

code='import importlib.util, importlib.metadata as md, aotgemm.runtime as rt
def found(m):
    try:
        return importlib.util.find_spec(m) is not None
    except ModuleNotFoundError:
        return False
from aotgemm.compiler import compiler_modules  # the one list; imports none of them
bad = [m for m in {"cutlass", "cutlass.operators", "nvMatmulHeuristics", *compiler_modules()} if found(m)]
bad += [d.metadata["Name"] for d in md.distributions()
        if d.metadata["Name"].lower().replace("_", "-").startswith(("nvidia-cutlass", "nvidia-matmul-heuristics"))]
print("compiler:", bad or "none", "| runtime loaded:", callable(rt.load))'
out=$(prun python -c "$code" 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out" >&2
check "python -c 'import aotgemm.runtime' works; no cutlass, cutlass.operators, nvMatmulHeuristics" \
    test "$rc:$(tail -n1 <<<"$out")" = "0:compiler: none | runtime loaded: True"
out=$(prun python -c "import aotgemm.runtime as rt; rt.load()" 2>&1) && rc=0 || rc=$?
check "a server's aotgemm.runtime.load() (of \$AOTGEMM_BUNDLE, as the image sets it) refuses here: NoGpu" \
    bash -c '[ "$1" != 0 ] && grep -q NoGpu <<<"$2"' _ "$rc" "$out"
out=$(prun env AOTGEMM_STRICT=0 python -c "import aotgemm.runtime as rt; rt.load()" 2>&1) && rc=0 || rc=$?
check "... and with AOTGEMM_STRICT=0 it loads (cuBLAS for every GEMM)" test "$rc" = 0

out=$(prun sh -c 'id -u; id -g; stat -c "%U %a" /opt/aotgemm/model.agb; touch /opt/aotgemm/model.agb 2>&1 || echo read-only')
check "runs as uid/gid 10001 (not root); the bundle is root's, 0644, not writable" \
    test "$(paste -sd' ' <<<"$out" | sed 's/touch:.*read-only/read-only/')" = "10001 10001 root 644 read-only"
check "the image config: User 10001:10001, HEALTHCHECK aotgemm verify --env" \
    test "$(podman image inspect --format '{{.Config.User}} {{json .Config.Healthcheck.Test}}' "$IMAGE:runtime")" \
    = '10001:10001 ["CMD","aotgemm","verify","--env"]'

trap 'podman rm --force --time 0 "$HC_NAME" >/dev/null 2>&1 || true' EXIT
# Without systemd, podman logs that it cannot add a timer for the check: harmless, `healthcheck run` runs it.
podman run -d --name "$HC_NAME" --network none "$IMAGE:runtime" sleep 600 2>&1 >/dev/null | grep -v 'systemd' >&2 || true
podman container exists "$HC_NAME" || die "could not start a container from $IMAGE:runtime"
hc_out=$(podman healthcheck run "$HC_NAME" 2>&1) && hc_rc=0 || hc_rc=$?
hc_log=$(podman inspect --format '{{range .State.Healthcheck.Log}}{{.ExitCode}} {{.Output}}{{end}}' "$HC_NAME" 2>&1 || true)
say "podman healthcheck run: exit $hc_rc: $hc_out; the check's log: $(head -c 400 <<<"$hc_log")"
check "podman healthcheck run says unhealthy, as verify --env says (exit $env_rc)" \
    test "$hc_rc:$hc_out" = "1:unhealthy"
check "... and its log holds verify --env's exit status and \"no GPU\" reason" \
    bash -c 'grep -q "^$1 " <<<"$2" && grep -q "no GPU: " <<<"$2"' _ "$env_rc" "$hc_log"
podman rm --force --time 0 "$HC_NAME" 2>&1 >/dev/null | grep -v 'systemd' >&2 || true
T[checks]=$((SECONDS - t0))

# --- 7. a rebuild with the cache mounts warm ---------------------------------------------------------------
case $warm in
    all) build_pass warm2 ;;
    builder)
        t=$SECONDS
        say "[warm2] podman build --no-cache --target builder (log: $STATE/build-warm2.log)"
        podman build "${build_args[@]}" --no-cache --target builder -t "$IMAGE:builder" "$root" 2>&1 \
            | stamp >"$STATE/build-warm2.log" \
            || { tail -n 60 "$STATE/build-warm2.log" >&2; die "the warm rebuild failed ($STATE/build-warm2.log)"; }
        T[warm2-builder]=$((SECONDS - t))
        grep -E '^[0-9]+ bake: builder: ' "$STATE/build-warm2.log" | cut -d' ' -f2- >&2 || true
        ;;
esac

# --- 8. sizes and times -------------------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
isize() { podman image inspect --format '{{.Size}}' "$1"; }
rt_size=$(isize "$IMAGE:runtime") b_size=$(isize "$IMAGE:builder")
wh_bytes=$(du -sb "$WHEELHOUSE" | cut -f1)
wh_n=$(find "$WHEELHOUSE" -name '*.whl' | wc -l)
summary=$(cat <<EOF
sizes:
  runtime image $IMAGE:runtime    $(mb "$rt_size")  (base $(mb "$(isize "$base_runtime")"))
  builder image $IMAGE:builder    $(mb "$b_size")  (base $(mb "$(isize "$base_builder")"))
  wheelhouse $WHEELHOUSE/          $(mb "$wh_bytes")  ($wh_n wheels; torch: $torch_whl)
times (s):
  tools ${T[tools]}, base images ${T[base]}, wheelhouse ${T[wheelhouse]}, checks ${T[checks]}
  $first build ($( [ "$first" = cold ] && echo 'cache mounts empty' || echo 'cache mounts not empty')): builder stage ${T[$first-builder]}, runtime stage ${T[$first-runtime]}, total $((T[$first-builder] + T[$first-runtime]))
EOF
)
case $warm in
    all) summary+=$'\n'"  warm rebuild (--no-cache, cache mounts warm): builder stage ${T[warm2-builder]}, runtime stage ${T[warm2-runtime]}, total $((T[warm2-builder] + T[warm2-runtime]))" ;;
    builder) summary+=$'\n'"  warm rebuild of the builder stage (--no-cache, cache mounts warm): ${T[warm2-builder]}" ;;
esac
summary+=$'\n'"  whole script $((SECONDS - t_start))"
printf '%s\n' "$summary" | tee "$STATE/summary.txt" >&2

if ((!keep)); then
    forget_images
fi
((fails == 0)) || die "$fails check(s) failed"
say "the image builds and behaves as docs/bake.md says"
