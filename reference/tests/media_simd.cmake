# SPDX-License-Identifier: MIT
# Tests of the SIMD kernels: every level this CPU runs against the scalar reference, and the
# level choice. media.simd.env_scalar runs the suite again with the level capped by VOX_SIMD,
# as a user would set it, and checks that the plain functions then use the scalar table.
vox_add_test_binary(test_simd test_simd.c)
target_link_libraries(test_simd PRIVATE m)
vox_add_test(media.simd test_simd "unit;media")
vox_add_test(media.simd.env_scalar test_simd "unit;media" --expect-level scalar)
set_tests_properties(media.simd.env_scalar PROPERTIES ENVIRONMENT VOX_SIMD=scalar)
