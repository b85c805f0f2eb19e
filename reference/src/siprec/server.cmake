# SPDX-License-Identifier: MIT
# SIPREC server part: configuration, SIP transports and dialogs, life cycle, HTTP API.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/config.c ${CMAKE_CURRENT_LIST_DIR}/server.c
  ${CMAKE_CURRENT_LIST_DIR}/transport.c ${CMAKE_CURRENT_LIST_DIR}/dialog.c
  ${CMAKE_CURRENT_LIST_DIR}/api.c)
