# SPDX-License-Identifier: MIT
# Tests of the SDP parser, validator and answer writer.
vox_add_test_binary(test_sdp test_sdp.c)
vox_add_test(sip.sdp test_sdp "unit;sip")
