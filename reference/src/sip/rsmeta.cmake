# SPDX-License-Identifier: MIT
# SIP part: RFC 7865 recording metadata (libxml2) in its vendor dialects, its JSON form
# (jansson), and the SIPREC offer extractor.
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/rsmeta.c)
target_link_libraries(vox PRIVATE PkgConfig::LIBXML2 PkgConfig::JANSSON)
