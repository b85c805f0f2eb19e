# SPDX-License-Identifier: MIT
# Tests of the recorder over real UDP sockets on 127.0.0.1: a fake clock for exact files (G.711,
# Opus, loss, reordering, hold, timeouts, sources, DTMF, stop), the ticker thread under every
# executor backend, a SIGKILLed recording process, write errors and the memory per session.
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
vox_add_test_binary(test_recorder test_recorder.c)
target_link_libraries(test_recorder PRIVATE PkgConfig::JANSSON)
vox_add_test(siprec.recorder test_recorder "unit;siprec")
