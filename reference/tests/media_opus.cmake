# SPDX-License-Identifier: MIT
# Tests of the Opus wrapper against real libopus.
vox_add_test_binary(test_opus test_opus.c)
target_link_libraries(test_opus PRIVATE m)
vox_add_test(media.opus test_opus "unit;media")
