# SPDX-License-Identifier: MIT
# The gpu module: batch SIP classification, Call-ID extraction and pattern search behind one
# vtable. gpu.c (front end, registry) and gpu_scalar.c always; gpu_simd.c (the level choice) with
# one file per x86-64 level, each alone built with its ISA's flags and run only after the CPU was
# asked; gpu_cuda.cu when nvcc was found (VOX_HAVE_CUDA, which only gpu.c reads, via vox/config.h).
set(_gpu_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(vox PRIVATE ${_gpu_dir}/gpu.c ${_gpu_dir}/gpu_scalar.c ${_gpu_dir}/gpu_simd.c)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _gpu_cpu)
if(_gpu_cpu MATCHES "^(x86_64|amd64|x64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8)
  target_sources(vox PRIVATE ${_gpu_dir}/gpu_simd_sse42.c ${_gpu_dir}/gpu_simd_avx2.c)
  set_source_files_properties(${_gpu_dir}/gpu_simd_sse42.c PROPERTIES COMPILE_OPTIONS "-msse4.2")
  set_source_files_properties(${_gpu_dir}/gpu_simd_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2")
  set_source_files_properties(${_gpu_dir}/gpu_simd.c PROPERTIES COMPILE_DEFINITIONS VOX_GPU_SIMD_X86)
endif()
# The scalar backend is the reference the harness compares SIMD against: keep its loops scalar
# (gcc vectorises byte loops at -O3, as simd.cmake explains for the media kernels).
set_source_files_properties(${_gpu_dir}/gpu_scalar.c PROPERTIES COMPILE_OPTIONS "-fno-tree-vectorize")

if(VOX_HAVE_CUDA)
  target_sources(vox PRIVATE ${_gpu_dir}/gpu_cuda.cu)
  # nvcc's own warnings are errors too (the C flags of vox_warnings reach C and C++ only).
  set_source_files_properties(${_gpu_dir}/gpu_cuda.cu PROPERTIES COMPILE_OPTIONS
    "--Werror=all-warnings;-Xcompiler=-Wall,-Wextra,-Wno-unused-parameter")
  # The static runtime: binaries need no libcudart.so at run time, only the driver (libcuda.so,
  # opened by cudart when a program first asks for a device), which machines without a GPU lack;
  # the backend then reports "no CUDA device". A static library passes its private link
  # dependencies on to whatever links it.
  target_link_libraries(vox PRIVATE CUDA::cudart_static)
endif()
