# SPDX-License-Identifier: MIT
# Tests of the gpu module: the hand-made contract once per backend and SIMD level, every backend
# against independent reference scans on random batches, and the registry. A backend that does
# not run on this machine (cuda without a device, a SIMD level the CPU lacks) exits 77: ctest
# shows it as skipped, with the reason in the output.
vox_add_test_binary(test_gpu test_gpu.c)
set(_gpu_tests "")
# The cuda contract only where the backend is compiled in; a build without nvcc is covered by
# gpu.registry, which expects VOX_ENOT_COMPILED for "cuda".
set(_gpu_backends scalar simd simd/sse4.2 simd/avx2 simd/scalar)
if(VOX_HAVE_CUDA)
  list(APPEND _gpu_backends cuda)
endif()
foreach(b ${_gpu_backends})
  string(REPLACE "/" "_" _t "${b}")
  string(REPLACE "." "" _t "${_t}")
  vox_add_test(gpu.contract.${_t} test_gpu "unit;gpu" --backend ${b})
  list(APPEND _gpu_tests gpu.contract.${_t})
endforeach()
vox_add_test(gpu.differential test_gpu "unit;gpu" --differential)
vox_add_test(gpu.registry test_gpu "unit;gpu" --registry)
list(APPEND _gpu_tests gpu.differential gpu.registry)
set_tests_properties(${_gpu_tests} PROPERTIES SKIP_RETURN_CODE 77)
# ASan reserves a shadow gap that the CUDA driver maps memory into on a machine with a GPU; the
# driver then fails ("out of memory") unless the gap is left unprotected. Harmless without one.
if(VOX_SANITIZE AND VOX_HAVE_CUDA)
  set_tests_properties(${_gpu_tests} PROPERTIES ENVIRONMENT "ASAN_OPTIONS=protect_shadow_gap=0")
endif()
