# SPDX-License-Identifier: MIT
# Media part: G.711 µ-law/A-law codec.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/g711.c)
