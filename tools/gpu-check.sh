#!/bin/sh
# gpu-check.sh OUTPUT_DIR: on a machine with an OpenCL GPU, build clattn, list the devices,
# run the test suite (the GPU attention kernels included) and `clattn bench --quick --json`
# on the GPU, then `clattn bench --json` at the headline sizes (seed op and decode: percent of
# the probed copy bandwidth; attention M = N = 4096, D = 128, fp32: GFLOP/s), the offline
# kernel report, and (where PyTorch with CUDA is installed) torch's
# scaled_dot_product_attention in fp32 (TF32 off) and fp16 with the backend it chose; every
# log and result goes into OUTPUT_DIR. On a bare H100/H200 machine:
#   bash tools/setup.sh && pip install torch numpy && sh tools/gpu-check.sh /tmp/gpu-check Without a GPU it runs the same on the default device
# (e.g. PoCL) and says so.
#
# What a bare NVIDIA machine may lack, and how this script copes:
#   - the ICD file: if /etc/OpenCL/vendors has none but the driver's libnvidia-opencl.so.1
#     is present, an ICD directory is made in OUTPUT_DIR and OCL_ICD_VENDORS points to it;
#   - the ICD loader and headers (Debian: ocl-icd-opencl-dev opencl-headers) and CUnit
#     (libcunit1-dev): checked; the build stops with the package names if the loader or
#     headers are missing, and the tests are skipped (bench still runs) without CUnit.
# Environment: CLATTN_DEVICE picks the device (default: gpu if there is one), JOBS the
# build parallelism, CMAKE_ARGS extra configure arguments.
set -u

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "usage: $0 OUTPUT_DIR" >&2
    exit 2
fi
mkdir -p "$1" || exit 1
out=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
status=0

note "clattn gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
{
    uname -a
    command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi
    command -v clinfo > /dev/null 2>&1 && clinfo -l
    ls -l /etc/OpenCL/vendors 2>/dev/null
} > "$out/system.txt" 2>&1

# ---- the OpenCL ICD --------------------------------------------------------------------
if ! ls /etc/OpenCL/vendors/*.icd > /dev/null 2>&1 && [ -z "${OCL_ICD_VENDORS:-}" ]; then
    nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
    if [ -n "$nv" ]; then
        mkdir -p "$out/icd"
        echo "$nv" > "$out/icd/nvidia.icd"
        export OCL_ICD_VENDORS="$out/icd"
        note "no ICD files in /etc/OpenCL/vendors: using $out/icd/nvidia.icd -> $nv"
    else
        note "warning: no OpenCL ICD files found in /etc/OpenCL/vendors"
    fi
fi

# ---- build -------------------------------------------------------------------------------
if [ ! -f /usr/include/CL/cl.h ] && [ ! -f /usr/local/include/CL/cl.h ]; then
    note "missing OpenCL headers and ICD loader: install ocl-icd-opencl-dev opencl-headers"
fi
tests=ON
if ! pkg-config --exists cunit 2>/dev/null; then
    tests=OFF
    note "CUnit not found (libcunit1-dev): building without the test suite"
fi
build="$out/build"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 4)}
# shellcheck disable=SC2086
if cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLATTN_BUILD_TESTS=$tests \
        ${CMAKE_ARGS:-} > "$out/build.log" 2>&1 &&
    cmake --build "$build" -j "$jobs" >> "$out/build.log" 2>&1; then
    note "build: ok"
else
    note "build: FAILED (see build.log)"
    tail -20 "$out/build.log"
    exit 1
fi
clattn="$build/clattn"

# ---- devices -----------------------------------------------------------------------------
"$clattn" devices > "$out/devices.txt" 2>&1
cat "$out/devices.txt" >> "$summary"
if [ -n "${CLATTN_DEVICE:-}" ]; then
    device=$CLATTN_DEVICE
elif grep -q "GPU" "$out/devices.txt"; then
    device=gpu
else
    device=default
    note "no OpenCL GPU found: running on the default device instead"
fi
export CLATTN_DEVICE="$device"
note "device selector: $device"

# ---- tests -------------------------------------------------------------------------------
if [ "$tests" = ON ]; then
    if (cd "$build" && ctest --output-on-failure --timeout 600) > "$out/tests.log" 2>&1; then
        note "tests: $(grep -E 'tests passed' "$out/tests.log" | tail -1)"
    else
        status=1
        note "tests: FAILED: $(grep -E 'tests passed' "$out/tests.log" | tail -1) (see tests.log)"
    fi
fi

# ---- bench -------------------------------------------------------------------------------
plot=""
command -v gnuplot > /dev/null 2>&1 && plot="--plot $out/bench.png"
# shellcheck disable=SC2086
if OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} "$clattn" bench --quick --device "$device" \
        --json "$out/bench.json" --csv "$out/bench.csv" $plot > "$out/bench.txt" \
        2> "$out/bench.err"; then
    note "bench: ok (bench.txt, bench.json, bench.csv${plot:+, bench.png})"
else
    status=1
    note "bench: FAILED (see bench.err)"
fi

# ---- the issue's headline sizes: seed op and decode (GB/s, % of the probed copy
# bandwidth), fp32 attention at M = N = 4096, D = 128 (GFLOP/s, % of the probed FMA peak) -----
for run in "scores --n 262144 --d 768" "decode --n 1048576 --d 128" \
    "attention --m 4096 --n 4096 --d 128" "attention --m 4096 --n 4096 --d 128 --causal"; do
    name=$(echo "$run" | tr -d '-' | tr ' ' '_')
    # shellcheck disable=SC2086
    if "$clattn" bench --op $run --backends opencl --device "$device" \
        --json "$out/bench_$name.json" > "$out/bench_$name.txt" 2>&1; then
        note "bench $run: $(grep -m1 -iE 'opencl' "$out/bench_$name.txt" | tr -s ' ')"
    else
        status=1
        note "bench $run: FAILED (see bench_$name.txt)"
    fi
done

# ---- the static resource report (offline compiles; no GPU needed) ----------------------
bash "$src/tools/kernel-report.sh" > "$out/kernel-report.txt" 2>&1
note "kernel report: $(tail -1 "$out/kernel-report.txt")"

# ---- PyTorch SDPA on the same GPU, for comparison ---------------------------------------
if command -v python3 > /dev/null 2>&1 &&
    python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
        > /dev/null 2>&1; then
    if python3 "$src/tools/torch_sdpa.py" "$out/torch_sdpa.json" > "$out/torch_sdpa.txt" 2>&1; then
        note "torch sdpa: ok (torch_sdpa.txt, torch_sdpa.json)"
    else
        note "torch sdpa: failed (see torch_sdpa.txt)"
    fi
else
    note "torch sdpa: skipped (no PyTorch with CUDA)"
fi

note "done: $out"
exit $status
