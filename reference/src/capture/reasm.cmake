# SPDX-License-Identifier: MIT
# Capture part: IPv4/IPv6 fragment reassembly and TCP stream reassembly into SIP messages.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/defrag.c ${CMAKE_CURRENT_LIST_DIR}/tcpreasm.c)
