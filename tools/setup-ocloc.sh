#!/usr/bin/env bash
# Unpacks Intel's offline OpenCL compiler, ocloc, from Debian's intel-opencl-icd and the
# compiler libraries it loads, into /opt/clattn/ocloc (or $OCLOC_ROOT) for
# tools/kernel-report.sh's intel_xe target. Unpacked, not installed: installing
# intel-opencl-icd would also register Intel's GPU driver with the ICD loader, a platform
# with no device on machines without an Intel GPU. Does nothing when ocloc is there already.
set -euo pipefail
root=${OCLOC_ROOT:-/opt/clattn/ocloc}
packages=(intel-opencl-icd libigc1 libigdfcl1 libigdgmm12 libopencl-clang14 libllvmspirvlib14)
[ -x "$root/usr/bin/ocloc" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-ocloc.sh: no apt-get: tools/kernel-report.sh will skip the intel_xe target" >&2
    exit 0
fi
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
if ! (cd "$debs" && apt-get download -qq "${packages[@]}" >/dev/null 2>&1); then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    (cd "$debs" && apt-get download -qq "${packages[@]}" >/dev/null)
fi
$sudo mkdir -p "$root"
for deb in "$debs"/*.deb; do
    $sudo dpkg -x "$deb" "$root"
done
echo "setup-ocloc.sh: ocloc unpacked into $root"
