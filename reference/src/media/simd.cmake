# SPDX-License-Identifier: MIT
# Media part: SIMD audio kernels. simd.c holds the scalar reference and the run-time dispatch;
# each other level is one file, compiled only for the processor it runs on, and only that file
# gets the ISA's flags, so the rest of the library stays at the baseline ISA and the AVX2 code
# runs only after the CPU was asked (reference/include/vox/simd.h).
set(_simd_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(vox PRIVATE ${_simd_dir}/simd.c)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _simd_cpu)
set(_simd_defs "")
if(_simd_cpu MATCHES "^(x86_64|amd64|x64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8)
  target_sources(vox PRIVATE ${_simd_dir}/simd_sse2.c ${_simd_dir}/simd_avx2.c)
  set_source_files_properties(${_simd_dir}/simd_sse2.c PROPERTIES COMPILE_OPTIONS "-msse2")
  set_source_files_properties(${_simd_dir}/simd_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2")
  list(APPEND _simd_defs VOX_SIMD_HAVE_SSE2 VOX_SIMD_HAVE_AVX2)
elseif(_simd_cpu MATCHES "^(aarch64|arm64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8)
  # Advanced SIMD is part of the AArch64 baseline: no flag needed.
  target_sources(vox PRIVATE ${_simd_dir}/simd_neon.c)
  list(APPEND _simd_defs VOX_SIMD_HAVE_NEON)
endif()

# Only the dispatch file sees which levels exist (as alloc.c alone sees VOX_HAVE_*).
# The scalar level is the reference and the baseline the benchmarks compare against: keep it
# scalar. gcc 12 leaves its loops scalar at -O2 (RelWithDebInfo), but at -O3 (Release) it
# vectorises six of the seven with SSE2, and "scalar" would then measure gcc's SIMD code.
# -fno-math-errno lets lrintf() and sqrt() compile to one instruction instead of a libm call
# per sample (they never set errno here: lrintf gets in-range values only, sqrt non-negative
# ones); it changes no result.
set_source_files_properties(${_simd_dir}/simd.c PROPERTIES
  COMPILE_DEFINITIONS "${_simd_defs}"
  COMPILE_OPTIONS "-fno-tree-vectorize;-fno-math-errno")
# lrintf, sqrt, round, pow.
target_link_libraries(vox PRIVATE m)
