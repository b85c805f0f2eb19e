# SPDX-License-Identifier: MIT
# vox-pcapgen: writes pcap/pcapng files of SIP calls with G.711 RTP of known content and a JSON
# truth file (the capture engine's tests, scripts/gen-pcaps, the harness's replay workloads).
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)

add_executable(vox-pcapgen ${CMAKE_CURRENT_LIST_DIR}/pcapgen.c)
target_link_libraries(vox-pcapgen PRIVATE vox PkgConfig::PCAP PkgConfig::JANSSON m vox_warnings)
target_compile_definitions(vox-pcapgen PRIVATE _GNU_SOURCE)
set_target_properties(vox-pcapgen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# The test runs the binary and checks its files with libpcap and tshark (skipped without
# tshark). Registered here like siprec.rtpsend; cmocka is looked up again because this
# directory is processed before tests/.
if(VOX_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_pcapgen ${PROJECT_SOURCE_DIR}/reference/tests/test_pcapgen.c)
  target_link_libraries(test_pcapgen PRIVATE vox PkgConfig::CMOCKA PkgConfig::PCAP
    PkgConfig::JANSSON vox_warnings)
  target_compile_definitions(test_pcapgen PRIVATE _GNU_SOURCE
    VOX_PCAPGEN_BIN="$<TARGET_FILE:vox-pcapgen>")
  add_dependencies(test_pcapgen vox-pcapgen)
  add_test(NAME capture.pcapgen COMMAND test_pcapgen)
  set_tests_properties(capture.pcapgen PROPERTIES LABELS "unit;capture" TIMEOUT 300)
endif()
