# SPDX-License-Identifier: MIT
# SIP part: multipart MIME bodies (SIPREC's SDP + rs-metadata container).
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/multipart.c)
