# SPDX-License-Identifier: MIT
# Tests of refcounted frames and the frame pool.
vox_add_test_binary(test_frame test_frame.c)
vox_add_test(media.frame test_frame "unit;media")
