# SPDX-License-Identifier: MIT
# Tests of the G.711 codec (all inputs against sox when installed).
vox_add_test_binary(test_g711 test_g711.c)
vox_add_test(media.g711 test_g711 "unit;media")
