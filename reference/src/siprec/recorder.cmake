# SPDX-License-Identifier: MIT
# SIPREC part: the recorder (RTP from the session's sockets to WAV files and a JSON description,
# on a media clock; jansson for the JSON).
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
target_sources(vox PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/recorder.c
  ${CMAKE_CURRENT_LIST_DIR}/recorder_media.c
  ${CMAKE_CURRENT_LIST_DIR}/recorder_files.c)
target_link_libraries(vox PRIVATE PkgConfig::JANSSON)
