# SPDX-License-Identifier: MIT
# vox-rtpsend: the G.711 RTP sender of the SIPREC runs (one-shot, daemon and client modes).
# SIPp sends RTP only to the first m=audio port of an answer; this sends every leg.
pkg_check_modules(SPEEXDSP REQUIRED IMPORTED_TARGET speexdsp)

add_executable(vox-rtpsend ${CMAKE_CURRENT_LIST_DIR}/rtpsend.c)
target_link_libraries(vox-rtpsend PRIVATE vox PkgConfig::SPEEXDSP m vox_warnings)
target_compile_definitions(vox-rtpsend PRIVATE _GNU_SOURCE)
set_target_properties(vox-rtpsend PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# The test runs the binary against sockets it binds on 127.0.0.1. It lives here rather than in
# reference/tests/CMakeLists.txt, which includes only the siprec_{store,httpd,recorder,server}
# fragments; cmocka is looked up again because this directory is processed before tests/.
if(VOX_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_rtpsend ${PROJECT_SOURCE_DIR}/reference/tests/test_rtpsend.c)
  target_link_libraries(test_rtpsend PRIVATE vox PkgConfig::CMOCKA PkgConfig::SPEEXDSP m
    vox_warnings)
  target_compile_definitions(test_rtpsend PRIVATE _GNU_SOURCE
    VOX_RTPSEND_BIN="$<TARGET_FILE:vox-rtpsend>")
  add_dependencies(test_rtpsend vox-rtpsend)
  add_test(NAME siprec.rtpsend COMMAND test_rtpsend)
  set_tests_properties(siprec.rtpsend PROPERTIES LABELS "unit;siprec" TIMEOUT 300)
endif()
