# SPDX-License-Identifier: MIT
# Tests of the capture engine's RTP stream statistics and E-model MOS: synthetic streams with
# hand-worked figures, and tshark's `-z rtp,streams` as the oracle on scenarios/pcaps/ and on a
# pcap of edge cases the test writes (skipped when tshark is not installed).
vox_add_test_binary(test_rtpstats test_rtpstats.c)
target_compile_definitions(test_rtpstats PRIVATE
  VOX_SCENARIOS_DIR="${PROJECT_SOURCE_DIR}/scenarios")
target_link_libraries(test_rtpstats PRIVATE m)
vox_add_test(capture.rtpstats test_rtpstats "unit;capture")
