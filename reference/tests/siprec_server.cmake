# SPDX-License-Identifier: MIT
# The SIPREC server in-process over real sockets on 127.0.0.1 (label "siprec").
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
vox_add_test_binary(test_siprec_server test_siprec_server.c)
target_link_libraries(test_siprec_server PRIVATE PkgConfig::JANSSON m)
vox_add_test(siprec.server test_siprec_server "unit;siprec")

