# SPDX-License-Identifier: MIT
# End to end with SIPp (label "sipp"): the binaries, our scenarios, files checked.
vox_add_test_binary(test_siprec_sipp test_siprec_sipp.c)
target_link_libraries(test_siprec_sipp PRIVATE PkgConfig::JANSSON m)
target_compile_definitions(test_siprec_sipp PRIVATE VOX_BIN_DIR="${CMAKE_BINARY_DIR}"
  VOX_SCENARIOS_DIR="${PROJECT_SOURCE_DIR}/scenarios")
add_dependencies(test_siprec_sipp vox-siprec vox-rtpsend)
vox_add_test(siprec.sipp test_siprec_sipp "siprec;sipp")
set_tests_properties(siprec.sipp PROPERTIES RUN_SERIAL TRUE)
