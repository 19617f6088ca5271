#!/usr/bin/env bash
# kernel-report.sh [--budget] [--target T]... [--kernels-dir DIR] [--clattn PATH]: the static
# resource report.
# Compiles clattn's GPU-shaped kernels offline, as the library would build them for a GPU
# (kernels/contract.h + philox.h + common.h + the kernel file, -D__OPENCL_VERSION__=120 as drivers define
# it, and the complete build options the planners give), for real GPU targets:
#   sm_80, sm_90   clang-19 -target nvptx64-nvidia-nvcl (libclc's nvptx64 bitcode) -> PTX ->
#                  ptxas -arch=sm_XX -v (CUDA toolkit): registers, spills, stack bytes;
#   gfx90a, gfx1100  clang-19 -target amdgcn-amd-amdhsa (libclc's amdgcn bitcode)
#                  -Rpass-analysis=kernel-resource-usage: VGPRs, spills, scratch, LDS.
#   intel_xe       Intel's offline compiler ocloc (Debian's intel-opencl-icd, unpacked by
#                  tools/setup.sh into /opt/clattn/ocloc without registering a driver) for an
#                  Arc A770 (dg2-g10, Xe-HPG), then `ocloc disasm` of the binary's patch tokens:
#                  GRF registers, the SIMD width IGC chose, private and scratch bytes, SLM.
#                  IGC keeps spills and private arrays in the same scratch: both columns show it.
# exp2/exp/log2 are compiled as the hardware instructions the vendors' drivers use
# (ex2.approx/lg2.approx, v_exp_f32/v_log_f32): libclc's portable software versions would
# add registers no driver spends. (Checked: with ROCm's device libraries, gfx90a gives the
# same VGPRs.) It prints one row per target, kernel and configuration: registers, spill
# bytes, private (stack/scratch) bytes, local memory, work-group size, occupancy (resident
# warps/waves per SM/CU over the maximum) and lanes busy per warp/wave.
#
# --budget exits 1 on a regression: attention at D <= 128 with private bytes or spills, or
# occupancy below 25 %; a spill in any kernel. A target whose toolchain is missing is
# skipped with a SKIP line saying what is missing; then the exit status is 77 (CTest:
# skipped), never 0. tools/setup.sh installs clang-19, libclc-19 and ocloc; ptxas comes with
# the CUDA toolkit.
#
# The configurations are the library's own: every program `clattn kernels --profile T` says
# the planners would build and launch on target T's built-in profile (each distinct source,
# kernel and build options once, with its planned work-group size). The CLI is found by
# --clattn PATH, $CLATTN_CLI, build/clattn or the PATH.
set -u

budget=0
targets=()
cli=${CLATTN_CLI:-}
src=$(cd "$(dirname "$0")/.." && pwd)
kdir="$src/kernels"
while [ $# -gt 0 ]; do
    case "$1" in
    --budget) budget=1 ;;
    --target) targets+=("$2"); shift ;;
    --kernels-dir) kdir=$2; shift ;;
    --clattn) cli=$2; shift ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "kernel-report.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=(sm_80 sm_90 gfx90a gfx1100 intel_xe)
[ -n "$cli" ] || cli=$( [ -x "$src/build/clattn" ] && echo "$src/build/clattn" || command -v clattn || true)
if [ -z "$cli" ] || [ ! -x "$cli" ]; then
    echo "kernel-report.sh: the clattn CLI was not found (build it, or pass --clattn PATH)" >&2
    exit 2
fi

clang=${CLANG:-$(command -v clang-19 || true)}
ptxas=${PTXAS:-$(command -v ptxas || ls /usr/local/cuda/bin/ptxas 2>/dev/null || true)}
clc=${LIBCLC_DIR:-/usr/lib/clc}
ocloc_root=${OCLOC_ROOT:-/opt/clattn/ocloc} # where tools/setup.sh unpacks Intel's compiler
ocloc=${OCLOC:-$( [ -x "$ocloc_root/usr/bin/ocloc" ] && echo "$ocloc_root/usr/bin/ocloc" || command -v ocloc || true)}
ocloc_libs="${ocloc%/usr/bin/ocloc}/usr/lib/x86_64-linux-gnu" # its compiler libraries, unpacked beside it
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Hardware exp2/log2/exp, per vendor (see the header).
cat > "$work/hw_nvidia.h" <<'EOF'
static inline float __attribute__((overloadable)) clattn_hw_exp2(float x) { return __nvvm_ex2_approx_f(x); }
static inline float __attribute__((overloadable)) clattn_hw_log2(float x) { return __nvvm_lg2_approx_f(x); }
static inline float __attribute__((overloadable)) clattn_hw_exp(float x) { return __nvvm_ex2_approx_f(x * 1.44269504f); }
#define exp2 clattn_hw_exp2
#define log2 clattn_hw_log2
#define exp clattn_hw_exp
EOF
cat > "$work/hw_amd.h" <<'EOF'
static inline float __attribute__((overloadable)) clattn_hw_exp2(float x) { return __builtin_amdgcn_exp2f(x); }
static inline float __attribute__((overloadable)) clattn_hw_log2(float x) { return __builtin_amdgcn_logf(x); }
static inline float __attribute__((overloadable)) clattn_hw_exp(float x) { return __builtin_amdgcn_exp2f(x * 1.44269504f); }
#define exp2 clattn_hw_exp2
#define log2 clattn_hw_log2
#define exp clattn_hw_exp
EOF

# file|kernel|work-group size|budget class (attention: the D <= 128 budget)|label|options, one
# line per distinct program and kernel the planners give for target $1's profile.
configs() {
    "$cli" kernels --profile "$1" | awk -F'|' 'NR > 1 {
        if (seen[$4 "|" $5 "|" $6]++) next
        split($8, l, "x")
        wg = ($8 == "any") ? 0 : l[1] * l[2] * l[3]
        class = "other"
        if ($5 == "attention_gpu" && match($6, /-DHEAD_D=[0-9]+/) && substr($6, RSTART + 9, RLENGTH - 9) + 0 <= 128)
            class = "attention"
        print $4 "|" $5 "|" wg "|" class "|" $2 " " $3 "|" $6
    }'
}

# Per target: vendor, warp/wave width, resident threads per SM/CU, register file per SM/CU
# (32-bit registers), local memory per SM/CU, maximum work-groups per SM/CU. intel_xe: one
# Xe-core of an Arc A770 (16 vector engines x 8 hardware threads with 128 GRF, 4 with 256;
# 64 KiB SLM); its width is the SIMD width IGC compiled each kernel for.
target_info() {
    case "$1" in
    intel_xe) echo "intel 0 128 0 65536 64" ;;
    sm_80) echo "nvidia 32 2048 65536 167936 32" ;;
    sm_90) echo "nvidia 32 2048 65536 233472 32" ;;
    gfx90a) echo "amd 64 2048 0 65536 32" ;;  # 4 SIMDs x 8 waves x 64 lanes
    gfx1100) echo "amd 32 1024 0 65536 32" ;; # 2 SIMDs x 16 waves x 32 lanes (one CU)
    *) return 1 ;;
    esac
}

# Prints "regs spill private local" for one kernel, or "ERROR message".
compile_nvidia() { # target file kernel defines
    local ptx="$work/k.ptx" log="$work/ptxas.log"
    if ! "$clang" -x cl -O3 \
        -target nvptx64-nvidia-nvcl -march="$1" -include "$work/hw_nvidia.h" \
        -Xclang -mlink-builtin-bitcode -Xclang "$clc/nvptx64--nvidiacl.bc" -Wno-linker-warnings \
        -D__OPENCL_VERSION__=120 $4 -S "$work/src.cl" -o "$ptx" > "$work/clang.log" 2>&1; then
        echo "ERROR clang: $(grep -m1 error "$work/clang.log")"
        return
    fi
    "$ptxas" -arch="$1" -v "$ptx" -o /dev/null > "$log" 2>&1 || { echo "ERROR ptxas"; return; }
    awk -v k="$3" -v q="'" '
        /Compiling entry function/ { cur = index($0, q k q) > 0 }
        cur && /bytes stack frame/ { stack = $5; spill = $9 + $13 }
        cur && /Used [0-9]+ registers/ {
            for (i = 1; i <= NF; i++) {
                if ($(i) == "registers,") regs = $(i - 1)
                if ($(i) ~ /^smem,?$/) smem = $(i - 2)
            }
            print regs, spill, stack, (smem == "" ? 0 : smem); exit
        }' "$log"
}

compile_amd() { # target file kernel defines
    local log="$work/amd.log"
    if ! "$clang" -x cl -O3 \
        -target amdgcn-amd-amdhsa -mcpu="$1" -nogpulib -include "$work/hw_amd.h" \
        -Xclang -mlink-builtin-bitcode -Xclang "$clc/amdgcn--amdhsa.bc" -Wno-linker-warnings \
        -Rpass-analysis=kernel-resource-usage -D__OPENCL_VERSION__=120 $4 -c "$work/src.cl" \
        -o "$work/k.o" > "$log" 2>&1; then
        echo "ERROR clang: $(grep -m1 error "$log")"
        return
    fi
    awk -v k="$3" '
        function val() { sub(/ \[-Rpass.*/, ""); return $NF }
        /Function Name:/ { cur = (val() == k) }
        cur && /remark: +VGPRs:/ { vgpr = val() }
        cur && /remark: +AGPRs:/ { agpr = val() }
        cur && /ScratchSize/ { scratch = val() }
        cur && /VGPRs Spill:/ { spill = val() } # SGPR spills go to VGPR lanes, not memory
        cur && /LDS Size/ { lds = val(); print vgpr + agpr, spill * 4, scratch, lds; exit }' "$log"
}

# Prints "regs spill private local simd" for one kernel, or "ERROR message": ocloc compiles
# the program for dg2-g10, `ocloc disasm` dumps its patch tokens (PTM.txt): 15 local surface
# (SLM bytes), 18/55 VFE state (per-thread scratch), 23 execution environment (word 3: the
# largest SIMD width compiled, word 20: GRF registers), 38 stateless private memory (word 3:
# bytes per work-item).
compile_intel() { # file kernel defines
    rm -rf "$work/ocl" "$work/dis"
    if ! LD_LIBRARY_PATH="$ocloc_libs" "$ocloc" compile -q \
        -file "$work/src.cl" -device dg2-g10 -out_dir "$work/ocl" -output k -options "$3" \
        > "$work/ocloc.log" 2>&1; then
        echo "ERROR ocloc: $(grep -m1 -i error "$work/ocloc.log")"
        return
    fi
    LD_LIBRARY_PATH="$ocloc_libs" "$ocloc" disasm \
        -file "$work"/ocl/k_*.bin -device dg2-g10 -dump "$work/dis" > /dev/null 2>&1
    [ -f "$work/dis/PTM.txt" ] || { echo "ERROR ocloc disasm: no patch tokens"; return; }
    awk -v k="$2" '
        function hex(h,   v, i) { # (mawk has no strtonum)
            v = 0
            for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
            return v
        }
        function word(i) { # little-endian 32-bit word i of a "Hex b0 b1 ..." line
            return ((hex($(2 + 4 * i + 3)) * 256 + hex($(2 + 4 * i + 2))) * 256 + \
                hex($(2 + 4 * i + 1))) * 256 + hex($(2 + 4 * i))
        }
        /KernelName/ { cur = ($2 == k) }
        /Token [0-9]+$/ { tok = $NF }
        cur && /Hex/ {
            if (tok == 15) lds = word(1)
            if (tok == 18 || tok == 55) scratch += word(1)
            if (tok == 23) { simd = word(3); grf = word(20) }
            if (tok == 38) private += word(3)
        }
        END { if (simd) print grf, scratch + 0, private + scratch, lds + 0, simd }' \
        "$work/dis/PTM.txt"
}

# Occupancy in percent from the resources (NVIDIA: registers allocated per warp in units of
# 256; AMD: the compiler's waves/SIMD is not used, VGPRs per wave are granted in blocks).
occupancy() { # target regs local wg [simd width: intel_xe]
    read -r vendor width threads regfile lmem maxwg <<< "$(target_info "$1")"
    [ "$vendor" = intel ] && width=$5 threads=$((threads * $5)) # hardware threads x SIMD lanes
    local regs=$2 local_bytes=$3 wg=$4 warps_wg=$(( ($4 + width - 1) / width ))
    local by_threads=$(( threads / (warps_wg * width) )) by_regs by_lmem=$maxwg
    # NVIDIA reserves 1 KB of shared memory per block
    local reserved=0
    [ "$vendor" = nvidia ] && reserved=1024
    [ "$local_bytes" -gt 0 ] && by_lmem=$(( lmem / (local_bytes + reserved) ))
    if [ "$vendor" = nvidia ]; then
        local per_warp=$(( (regs * 32 + 255) / 256 * 256 ))
        by_regs=$(( regfile / (per_warp * warps_wg) ))
    elif [ "$vendor" = intel ]; then
        # $width is the compiled SIMD width; hardware threads: 8 per vector engine with 128
        # GRF, 4 with 256 ("large GRF" mode)
        local per_ve=8
        [ "$regs" -gt 128 ] && per_ve=4
        by_regs=$(( 16 * per_ve / warps_wg ))
    else
        # VGPRs per SIMD lane: 512 (gfx90a: VGPRs + AGPRs), 1536 on gfx1100 (wave32);
        # granule 8; waves per SIMD capped at 8 (gfx90a) or 16 (gfx1100).
        local file=512 cap=8 simds=4
        [ "$1" = gfx1100 ] && file=1536 cap=16 simds=2
        local granted=$(( (regs + 7) / 8 * 8 ))
        [ "$granted" -lt 8 ] && granted=8
        local waves_simd=$(( file / granted ))
        [ "$waves_simd" -gt "$cap" ] && waves_simd=$cap
        by_regs=$(( waves_simd * simds / warps_wg ))
    fi
    local wgs=$by_threads
    [ "$by_regs" -lt "$wgs" ] && wgs=$by_regs
    [ "$by_lmem" -lt "$wgs" ] && wgs=$by_lmem
    [ "$maxwg" -lt "$wgs" ] && wgs=$maxwg
    echo $(( wgs * warps_wg * width * 100 / threads ))
}

failures=0
skipped=0
printf '%-8s %-34s %5s %6s %8s %7s %5s %5s %6s  %s\n' target kernel regs spillB privateB \
    localB wg occ% lanes% problem
for t in "${targets[@]}"; do
    if ! info=$(target_info "$t"); then
        echo "SKIP $t: unknown target (sm_80, sm_90, gfx90a, gfx1100, intel_xe)"
        skipped=$((skipped + 1))
        continue
    fi
    vendor=${info%% *}
    missing=""
    [ -n "$clang" ] || missing="clang-19 (apt-get install clang-19)"
    if [ "$vendor" = nvidia ]; then
        [ -f "$clc/nvptx64--nvidiacl.bc" ] || missing="$missing libclc-19 ($clc/nvptx64--nvidiacl.bc)"
        [ -n "$ptxas" ] || missing="$missing ptxas (the CUDA toolkit)"
    elif [ "$vendor" = intel ]; then
        missing=""
        [ -n "$ocloc" ] || missing="ocloc (tools/setup.sh unpacks it into $ocloc_root)"
    else
        [ -f "$clc/amdgcn--amdhsa.bc" ] || missing="$missing libclc-19 ($clc/amdgcn--amdhsa.bc)"
    fi
    if [ -n "$missing" ]; then
        echo "SKIP $t: toolchain missing: $missing -- this target was NOT checked"
        skipped=$((skipped + 1))
        continue
    fi
    width=$(echo "$info" | cut -d' ' -f2)
    if ! rows=$(set -o pipefail; configs "$t") || [ -z "$rows" ]; then
        echo "FAIL $t: clattn kernels --profile $t gave no plans"
        failures=$((failures + 1))
        continue
    fi
    while IFS='|' read -r file kernel wg class label defines; do
        cat "$kdir/contract.h" "$kdir/philox.h" "$kdir/common.h" "$kdir/$file" > "$work/src.cl"
        if [ "$vendor" = nvidia ]; then
            res=$(compile_nvidia "$t" "$file" "$kernel" "$defines")
        elif [ "$vendor" = intel ]; then
            res=$(compile_intel "$file" "$kernel" "$defines")
        else
            res=$(compile_amd "$t" "$file" "$kernel" "$defines")
        fi
        if [ -z "$res" ] || [ "${res%% *}" = ERROR ]; then
            echo "FAIL $t $kernel $label: ${res:-no such kernel in the compiler output}"
            failures=$((failures + 1))
            continue
        fi
        if [ "$wg" -eq 0 ]; then
            echo "FAIL $t $kernel $label: the plan leaves the work-group size to the driver"
            failures=$((failures + 1))
            continue
        fi
        read -r regs spill private lbytes simd <<< "$res"
        [ "$vendor" = intel ] && width=$simd label="$label (SIMD$simd)"
        occ=$(occupancy "$t" "$regs" "$lbytes" "$wg" "$simd")
        lanes=$(( wg >= width ? 100 : wg * 100 / width ))
        printf '%-8s %-34s %5s %6s %8s %7s %5s %5s %6s  %s\n' "$t" "$file:$kernel" "$regs" \
            "$spill" "$private" "$lbytes" "$wg" "$occ" "$lanes" "$label"
        if [ "$budget" = 1 ]; then
            why=""
            [ "$spill" -gt 0 ] && why="$why spills $spill B;"
            if [ "$class" = attention ]; then
                [ "$private" -gt 0 ] && why="$why $private private bytes;"
                [ "$occ" -lt 25 ] && why="$why occupancy $occ % < 25 %;"
            fi
            if [ -n "$why" ]; then
                echo "BUDGET $t $kernel $label:$why"
                failures=$((failures + 1))
            fi
        fi
    done <<< "$rows"
done
if [ "$failures" -gt 0 ]; then
    echo "kernel-report: $failures failure(s)"
    exit 1
fi
if [ "$skipped" -gt 0 ]; then
    echo "kernel-report: $skipped target(s) skipped for a missing toolchain: not a pass"
    exit 77
fi
[ "$budget" = 1 ] && echo "kernel-report: every budget met"
exit 0
