# SPDX-License-Identifier: MIT
# Capture part: RTP stream statistics (tshark's definitions) and the G.107 E-model MOS.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/rtpstats.c)
