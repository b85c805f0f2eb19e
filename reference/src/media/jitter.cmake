# SPDX-License-Identifier: MIT
# Media part: the fixed-memory RTP jitter buffer.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/jitter.c)
