# SPDX-License-Identifier: MIT
# Media part: RTP (RFC 3550) parser/builder, receiver statistics, RFC 8285 and RFC 4733.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/rtp.c)
