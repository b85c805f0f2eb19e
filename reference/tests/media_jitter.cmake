# SPDX-License-Identifier: MIT
# Tests of the jitter buffer, including a randomized run against a simple model.
vox_add_test_binary(test_jitter test_jitter.c)
vox_add_test(media.jitter test_jitter "unit;media")
