#!/usr/bin/env bash
# Builds the lab's images on a machine whose Docker engine reaches no registry (air gaps, this
# project's CI): nothing is pulled, so nothing here may start FROM an image of a registry.
#
#   1. a base image, lab/base:bookworm, made here: Debian bookworm fetched by debootstrap from
#      a Debian mirror (or a local one: LAB_DEBIAN_MIRROR), then cut down to what the lab's
#      binaries load (glibc, libgcc, CA certificates, /etc/passwd with a non-root user), the
#      way distroless images are made, and loaded with `docker import`. The cut tree is cached
#      as target/lab-images/base-bookworm-v1.tar, so later runs neither fetch nor need root;
#   2. the binaries, built once by cargo on this machine in the profile LAB_PROFILE (release,
#      fat LTO, by default: minutes the first time, seconds after; tests/run passes
#      quick-release, the build its tests already made), their debug line tables stripped;
#   2b. for postgres, a second base, lab/postgres-base:bookworm: a debootstrap tree with Debian's
#      postgresql-15 installed from the same mirror (its postgres user given uid 999, the
#      official image's), not cut down (the server's first start runs initdb, which needs a
#      shell), cached as target/lab-images/postgres-bookworm-v1.tar;
#   3. the runtime images, through compose with compose/offline.yaml (runtime-only Dockerfile
#      compose/images/offline.Dockerfile on the base above; no stage needs a registry, which
#      matters because the legacy builder, without BuildKit, builds every stage it reads).
#
# The images get the tags compose.yaml names (lab/<service>:$LAB_TAG), so a plain
# `docker compose up` afterwards starts them without building anything.
#
# Usage: compose/build-offline.sh [service...]
#   (default: demo-service agent-lite loadgen inventory postgres; inventory is demo-service's image)
# Environment: LAB_TAG (dev), LAB_BASE_IMAGE (lab/base:bookworm), LAB_DEBIAN_MIRROR,
#   LAB_PROFILE (release), LAB_SKIP_CARGO=1 (use the binaries already in target/<profile>),
#   COMPOSE (the compose
#   command; found when unset: `docker compose`, else `docker-compose`).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "build-offline: $*"; }
die() {
  echo "build-offline: error: $*" >&2
  exit 1
}

services=("$@")
[ ${#services[@]} -gt 0 ] || services=(demo-service agent-lite loadgen inventory postgres)
binaries=()
for s in "${services[@]}"; do
  case "$s" in
  demo-service | agent-lite | loadgen) binaries+=("$s") ;;
  inventory) binaries+=(demo-service) ;;
  postgres) ;;
  *) die "unknown service '$s' (demo-service, agent-lite, loadgen, inventory or postgres)" ;;
  esac
done
# The legacy builder reads every stage before its target in offline.Dockerfile (demo-service,
# agent-lite, postgres, loadgen): postgres needs the first two binaries in the context, and
# loadgen needs the postgres base.
pg_base_needed=0
for s in "${services[@]}"; do
  case "$s" in
  postgres) binaries+=(demo-service agent-lite) pg_base_needed=1 ;;
  loadgen) binaries+=(demo-service agent-lite) pg_base_needed=1 ;;
  esac
done
mapfile -t binaries < <(printf '%s\n' "${binaries[@]}" | sort -u)

base_image=${LAB_BASE_IMAGE:-lab/base:bookworm}
mirror=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export LAB_TAG=${LAB_TAG:-dev}
export LAB_BASE_IMAGE=$base_image
work=target/lab-images
# Bump when the cut below changes, so that caches of an older cut are not reused.
base_tar=$work/base-bookworm-v1.tar

command -v docker >/dev/null 2>&1 || die "docker is not installed (the lab's images need a Docker engine)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer ('docker info' failed): is it running, and may this user use it?"

if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=docker-compose
  else
    die "neither 'docker compose' (Compose v2) nor 'docker-compose' is installed"
  fi
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    sudo "$@"
  else
    die "need root for '$1' (debootstrap makes device nodes and chroots): run as root or with sudo, once; later runs reuse $base_tar"
  fi
}

# --- 1. the base image --------------------------------------------------------------------

# Packages whose files the images keep. Everything else debootstrap brings (apt, dpkg, perl,
# the shells, coreutils) is only there to install these, and is left out: the binaries need
# no shell (healthchecks run the binaries themselves), and a runtime without one is smaller
# and gives an intruder less to work with.
keep_packages=(base-files netbase libc6 libgcc-s1)

need_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 || {
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and there is no apt-get to install it"
    say "apt-get install debootstrap"
    as_root apt-get update -qq || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
      die "apt-get install debootstrap failed"
  }
}

make_base_tar() {
  need_debootstrap
  mkdir -p "$work"
  local tmp
  tmp=$(mktemp -d "$work/base.XXXXXX")
  # The trees are root's: removing them may need root too.
  trap 'as_root rm -rf "'"$tmp"'"' EXIT
  local full=$tmp/debootstrap cut=$tmp/rootfs

  say "debootstrap --variant=minbase bookworm from $mirror (about 2 minutes, once)"
  as_root debootstrap --variant=minbase --include=ca-certificates,netbase bookworm "$full" "$mirror" \
    >"$tmp/debootstrap.log" 2>&1 ||
    die "debootstrap failed (is $mirror reachable? set LAB_DEBIAN_MIRROR to a local mirror); its log: $(tail -5 "$tmp/debootstrap.log")"

  say "cutting the tree down to ${keep_packages[*]} and the CA bundle"
  local list=$tmp/files
  : >"$list"
  for p in "${keep_packages[@]}"; do
    # Multi-arch packages (libc6) name their list libc6:amd64.list.
    local l=""
    for f in "$full/var/lib/dpkg/info/$p.list" "$full/var/lib/dpkg/info/$p:"*.list; do
      [ -f "$f" ] && l=$f && break
    done
    [ -n "$l" ] || die "package $p is not in the debootstrap tree"
    # Manuals, locales and iconv's gconv modules (8 MB; Rust does not use iconv) go, and of
    # the docs only the copyright files stay, as distroless keeps them.
    grep -v -E '^/\.$|^/usr/share/(man|info|locale|lintian|bug)/|/gconv(/|$)' "$l" |
      awk '!/^\/usr\/share\/doc\/[^\/]+\// || /\/copyright$/' |
      sed 's|^/|./|' >>"$list"
  done
  echo ./etc/ssl/certs/ca-certificates.crt >>"$list"
  as_root mkdir -p "$cut"
  # The tree is merged-/usr (/lib -> usr/lib): make the same links first, and let tar keep
  # them, so that a file listed as /lib/x86_64-linux-gnu/libc.so.6 lands in usr/lib.
  as_root mkdir -p "$cut/usr/bin" "$cut/usr/lib" "$cut/usr/lib64" "$cut/usr/sbin"
  for d in bin lib lib64 sbin; do as_root ln -s "usr/$d" "$cut/$d"; done
  as_root tar -C "$full" --no-recursion -cf - -T "$list" | as_root tar -C "$cut" --keep-directory-symlink -xf -

  # Users: root, and nonroot (65532, distroless's) which the images run as; no login shell.
  as_root sh -c "cat >'$cut/etc/passwd'" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  as_root sh -c "cat >'$cut/etc/group'" <<'EOF'
root:x:0:
nonroot:x:65532:
nogroup:x:65534:
EOF
  as_root sh -c "printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nservices: files\nprotocols: files\n' >'$cut/etc/nsswitch.conf'"
  as_root mkdir -p "$cut/tmp" "$cut/home/nonroot" "$cut/root" "$cut/proc" "$cut/sys" "$cut/dev" "$cut/run" \
    "$cut/usr/local/bin" "$cut/var/lib/dpkg/status.d"
  as_root chmod 1777 "$cut/tmp"
  as_root chmod 0700 "$cut/root" "$cut/home/nonroot"
  as_root chown 65532:65532 "$cut/home/nonroot"
  # The loader's cache, made for the libraries that are really there.
  as_root cp -a "$full/etc/ld.so.conf" "$cut/etc/"
  as_root cp -a "$full/etc/ld.so.conf.d" "$cut/etc/"
  as_root "$full/sbin/ldconfig" -r "$cut" || die "ldconfig in the cut tree failed"
  # What is inside, where image scanners (trivy, grype) look for it in distroless images.
  for p in "${keep_packages[@]}" ca-certificates; do
    awk -v RS= -v ORS='\n\n' -v want="Package: $p" 'index($0, want "\n") == 1' "$full/var/lib/dpkg/status" |
      as_root sh -c "cat >'$cut/var/lib/dpkg/status.d/$p'"
  done

  # Sorted and with numeric owners: the same packages give the same tarball.
  as_root tar -C "$cut" --sort=name --numeric-owner -cf "$tmp/base.tar" .
  as_root chown "$(id -u):$(id -g)" "$tmp/base.tar"
  mv "$tmp/base.tar" "$base_tar"
  for p in "${keep_packages[@]}" ca-certificates; do
    printf '%s %s\n' "$p" "$(awk '/^Version:/ {print $2; exit}' "$cut/var/lib/dpkg/status.d/$p")"
  done >"$base_tar.packages"
  as_root rm -rf "$tmp"
  trap - EXIT
}

if [ -s "$base_tar" ]; then
  say "base tree: cached $base_tar ($(du -h "$base_tar" | cut -f1); delete it to fetch again)"
else
  make_base_tar
  say "base tree: $base_tar ($(du -h "$base_tar" | cut -f1): $(tr '\n' ' ' <"$base_tar.packages"))"
fi

tar_sha=$(sha256sum "$base_tar" | cut -d' ' -f1)
have_sha=$(docker image inspect -f '{{ index .Config.Labels "lab.base.tar-sha256" }}' "$base_image" 2>/dev/null || true)
if [ "$have_sha" = "$tar_sha" ]; then
  say "base image: $base_image is up to date"
else
  say "base image: docker import $base_tar as $base_image"
  docker import \
    --change 'USER 65532:65532' \
    --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change "LABEL lab.base.tar-sha256=$tar_sha org.opencontainers.image.description=\"Debian bookworm cut down to glibc, libgcc and CA certificates (compose/build-offline.sh)\"" \
    "$base_tar" "$base_image" >/dev/null || die "docker import of $base_tar failed"
fi

# --- 2b. the postgres base -------------------------------------------------------------------

pg_base_image=${LAB_POSTGRES_BASE_IMAGE:-lab/postgres-base:bookworm}
export LAB_POSTGRES_BASE_IMAGE=$pg_base_image
# Bump when the tree below changes, so that caches of an older tree are not reused.
pg_tar=$work/postgres-bookworm-v2.tar

make_postgres_tar() {
  need_debootstrap
  mkdir -p "$work"
  local tmp
  tmp=$(mktemp -d "$work/postgres.XXXXXX")
  trap 'as_root rm -rf "'"$tmp"'"' EXIT
  local tree=$tmp/rootfs
  say "debootstrap --variant=minbase bookworm for postgres from $mirror (a few minutes, once)"
  as_root debootstrap --variant=minbase bookworm "$tree" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    die "debootstrap failed; its log: $(tail -5 "$tmp/debootstrap.log")"
  # The official image's uid and gid, so compose.yaml's `user: 999:999` fits both images;
  # no service started inside the chroot, and no cluster made by the package (the
  # entrypoint makes one in the volume).
  as_root chroot "$tree" groupadd -r -g 999 postgres
  as_root chroot "$tree" useradd -r -u 999 -g 999 -d /var/lib/postgresql -s /bin/sh postgres
  as_root sh -c "printf '#!/bin/sh\nexit 101\n' >'$tree/usr/sbin/policy-rc.d' && chmod 0755 '$tree/usr/sbin/policy-rc.d'"
  as_root mkdir -p "$tree/etc/postgresql-common/createcluster.d"
  as_root sh -c "echo 'create_main_cluster = false' >'$tree/etc/postgresql-common/createcluster.d/lab.conf'"
  as_root cp /etc/resolv.conf "$tree/etc/resolv.conf"
  say "apt-get install postgresql-15 in the tree (Debian's package, from $mirror)"
  as_root chroot "$tree" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
    >"$tmp/apt.log" 2>&1 || die "apt-get install postgresql-15 failed; its log: $(tail -5 "$tmp/apt.log")"
  as_root rm -rf "$tree/var/lib/apt/lists" "$tree/var/cache/apt" "$tree/usr/share/man" "$tree/usr/share/info" \
    "$tree/usr/share/locale" "$tree/usr/sbin/policy-rc.d" "$tree/etc/resolv.conf"
  as_root find "$tree/usr/share/doc" -type f ! -name copyright -delete
  # The data folder a named volume starts from (owner and mode copied into the volume), and
  # the socket folder, whose owner and mode Docker copies into the tmpfs compose.yaml mounts
  # there. Through run/, not var/run: the tree's var/run is an absolute link to /run, which
  # here would be this machine's.
  as_root mkdir -p "$tree/var/lib/postgresql/data" "$tree/run/postgresql"
  as_root chown 999:999 "$tree/var/lib/postgresql/data" "$tree/run/postgresql"
  as_root chmod 0700 "$tree/var/lib/postgresql/data"
  as_root chmod 3777 "$tree/run/postgresql"
  as_root tar -C "$tree" --sort=name --numeric-owner -cf "$tmp/postgres.tar" .
  as_root chown "$(id -u):$(id -g)" "$tmp/postgres.tar"
  mv "$tmp/postgres.tar" "$pg_tar"
  as_root chroot "$tree" dpkg-query -W -f '${Package} ${Version}\n' postgresql-15 >"$pg_tar.packages"
  as_root rm -rf "$tmp"
  trap - EXIT
}

if [ "$pg_base_needed" = 1 ]; then
  if [ -s "$pg_tar" ]; then
    say "postgres tree: cached $pg_tar ($(du -h "$pg_tar" | cut -f1); delete it to fetch again)"
  else
    make_postgres_tar
    say "postgres tree: $pg_tar ($(du -h "$pg_tar" | cut -f1): $(cat "$pg_tar.packages"))"
  fi
  pg_sha=$(sha256sum "$pg_tar" | cut -d' ' -f1)
  have_pg_sha=$(docker image inspect -f '{{ index .Config.Labels "lab.base.tar-sha256" }}' "$pg_base_image" 2>/dev/null || true)
  if [ "$have_pg_sha" = "$pg_sha" ]; then
    say "postgres base image: $pg_base_image is up to date"
  else
    say "postgres base image: docker import $pg_tar as $pg_base_image"
    docker import \
      --change 'USER 999:999' \
      --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin' \
      --change "LABEL lab.base.tar-sha256=$pg_sha org.opencontainers.image.description=\"Debian bookworm with Debian's postgresql-15 (compose/build-offline.sh)\"" \
      "$pg_tar" "$pg_base_image" >/dev/null || die "docker import of $pg_tar failed"
  fi
fi

# --- 2. the binaries ------------------------------------------------------------------------

profile=${LAB_PROFILE:-release}
case "$profile" in release | quick-release) ;; *) die "LAB_PROFILE is release or quick-release, not '$profile'" ;; esac
target_dir=$(tests/target-dir)

if [ "${LAB_SKIP_CARGO:-0}" != 1 ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust (rustup.rs), or build on another machine and set LAB_SKIP_CARGO=1"
  # Every binary of the workspace, as bench/lib.sh builds them (the workspace-hack crate makes
  # every package set resolve the same features, so a build shares what another made).
  say "cargo build --profile $profile --locked --workspace --bins (several minutes the first time)"
  cargo build --profile "$profile" --locked --workspace --bins ||
    die "cargo build --profile $profile --workspace --bins failed"
fi

context=$work/context
mkdir -p "$context"
cp compose/images/offline.Dockerfile "$context/Dockerfile"
# The context holds the binaries only: a tiny upload to the engine, whatever target/ holds.
cp compose/images/postgres-entrypoint.sh "$context/postgres-entrypoint.sh"
printf '*\n!Dockerfile\n!demo-service\n!agent-lite\n!agent-lite-state\n!loadgen\n!postgres-entrypoint.sh\n' >"$context/.dockerignore"
# Copied as agent-lite's state directory, owned by its user (offline.Dockerfile says why).
mkdir -p "$context/agent-lite-state"
for s in "${binaries[@]}"; do
  bin=$target_dir/$profile/$s
  [ -x "$bin" ] || die "$bin is missing (cargo build --profile $profile -p $s)"
  # Line tables (the release profiles' debug = "line-tables-only", for profiling) are most
  # of the binary; the symbols stay, so a backtrace still names its functions.
  strip --strip-debug -o "$context/$s.tmp" "$bin" || die "strip $bin failed (binutils)"
  mv "$context/$s.tmp" "$context/$s"
done

# --- 3. the images --------------------------------------------------------------------------

say "images: $COMPOSE -f compose.yaml -f compose/offline.yaml build ${services[*]}"
# shellcheck disable=SC2086 # COMPOSE is a command and its subcommand
$COMPOSE -f compose.yaml -f compose/offline.yaml build "${services[@]}" ||
  die "$COMPOSE build failed"
for s in "${services[@]}"; do
  [ "$s" = inventory ] && continue
  size=$(docker image inspect -f '{{ .Size }}' "lab/$s:$LAB_TAG")
  say "lab/$s:$LAB_TAG: $((size / 1000 / 1000)) MB"
done
