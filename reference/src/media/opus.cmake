# SPDX-License-Identifier: MIT
# Media part: Opus through libopus (Debian's libopus-dev).
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus)
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/opus.c)
target_link_libraries(vox PRIVATE PkgConfig::OPUS)
