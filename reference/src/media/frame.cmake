# SPDX-License-Identifier: MIT
# Media part: refcounted frames and the frame pool.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/frame.c)
