# SPDX-License-Identifier: MIT
# SIP part: SDP parser, validator and the recording server's answer writer.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/sdp.c)
