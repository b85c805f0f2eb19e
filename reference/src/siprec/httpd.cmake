# SPDX-License-Identifier: MIT
# SIPREC part: the HTTP API server (libmicrohttpd, Debian's libmicrohttpd-dev) with the text
# buffer, JSON and Prometheus helpers its handlers use.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/httpd.c)
target_link_libraries(vox PRIVATE PkgConfig::MHD)
