#!/usr/bin/env bash
# Build (or reuse) the local control plane: kube-apiserver, controller-manager, scheduler, kubectl.
# Installs its Debian dependencies, builds Kubernetes 1.20.2 from Debian's source package with the
# vendored reflect2 replaced by Debian's 1.0.2, and caches the binaries under ~/.cache/kdash/.
# Prints the directory holding the binaries on its last line.
set -euo pipefail

K8S_VERSION=1.20.2
PATCH_LEVEL=reflect2-1.0.2
GO_VERSION=1.19
CACHE_ROOT="${KDASH_CACHE:-$HOME/.cache/kdash}"
BIN_DIR="$CACHE_ROOT/k8s-$K8S_VERSION-$PATCH_LEVEL-go$GO_VERSION/bin"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
DEBS=(etcd-server "golang-$GO_VERSION-go" rsync jq dpkg-dev openssl golang-github-modern-go-reflect2-dev curl)

log() { echo "[devcluster/build] $*" >&2; }

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

have_debs() {
  local d
  for d in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    sudo_ apt-get update -qq >&2
    apt_updated=1
  fi
}

install_debs() {
  if have_debs; then return; fi
  log "installing Debian packages: ${DEBS[*]}"
  apt_update
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${DEBS[@]}" >&2
}

ensure_deb_src() {
  # apt-get source needs a deb-src entry for bookworm main; add one of our own if none exists.
  if grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return
  fi
  log "adding a deb-src entry for bookworm main"
  sudo_ tee /etc/apt/sources.list.d/kdash-deb-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_updated=0
}

built() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}

build() {
  local work src gopath
  work="$CACHE_ROOT/build"
  rm -rf "$work"
  mkdir -p "$work"
  ensure_deb_src
  apt_update
  log "fetching the kubernetes source package"
  # Debian's version string is "1.20.5+really1.20.2-..."; its orig tarball is upstream 1.20.2.
  (cd "$work" && apt-get source --download-only kubernetes >&2)
  local orig
  orig=$(ls "$work"/kubernetes_*"$K8S_VERSION"*.orig.tar.* | head -n 1)
  gopath="$work/.go"
  src="$gopath/src/k8s.io/kubernetes"
  mkdir -p "$src"
  log "unpacking $(basename "$orig")"
  tar -xf "$orig" -C "$src" --strip-components=1
  # The vendored reflect2 1.0.1 breaks with Go >= 1.18 (SIGSEGV in map iteration while the
  # apiserver encodes large lists); Debian's 1.0.2 is API-compatible.
  log "replacing vendored reflect2 with Debian's 1.0.2"
  local r2=/usr/share/gocode/src/github.com/modern-go/reflect2
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  mkdir -p "$src/vendor/github.com/modern-go/reflect2"
  find "$r2" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name 'LICENSE' \) -exec cp {} "$src/vendor/github.com/modern-go/reflect2/" \;
  find "$src/vendor/github.com/modern-go/reflect2" -name '*_test.go' -delete
  sed -i 's|^# github.com/modern-go/reflect2 v1.0.1|# github.com/modern-go/reflect2 v1.0.2|' "$src/vendor/modules.txt" || true
  sed -i 's|github.com/modern-go/reflect2 v1.0.1|github.com/modern-go/reflect2 v1.0.2|' "$src/go.mod" || true
  log "building ${BINARIES[*]} (cold build takes several minutes)"
  local whats=""
  local b
  for b in "${BINARIES[@]}"; do whats="$whats cmd/$b"; done
  (
    cd "$src"
    export GOPATH="$gopath" PATH="/usr/lib/go-$GO_VERSION/bin:$PATH" CGO_ENABLED=0 GOFLAGS=-mod=vendor
    export GOCACHE="$CACHE_ROOT/gocache" KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
    make WHAT="${whats# }" >&2
  )
  mkdir -p "$BIN_DIR"
  for b in "${BINARIES[@]}"; do
    cp "$src/_output/bin/$b" "$BIN_DIR/$b.tmp" && mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  done
  rm -rf "$work"
  log "built into $BIN_DIR"
}

main() {
  local t0=$SECONDS
  install_debs
  if built; then
    log "reusing cached binaries in $BIN_DIR"
  else
    build
  fi
  log "ready in $((SECONDS - t0)) s"
  echo "$BIN_DIR"
}

main "$@"
