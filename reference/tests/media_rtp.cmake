# SPDX-License-Identifier: MIT
# Tests of the RTP parser/builder, A.1/A.3/A.8 receiver state and telephone-events.
vox_add_test_binary(test_rtp test_rtp.c)
vox_add_test(media.rtp test_rtp "unit;media")
