# SPDX-License-Identifier: MIT
# SIPREC part: the session containers (sharded map, LRU+TTL cache) and the RTP port allocator.
target_sources(vox PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/shardmap.c
  ${CMAKE_CURRENT_LIST_DIR}/lru.c
  ${CMAKE_CURRENT_LIST_DIR}/portalloc.c)
