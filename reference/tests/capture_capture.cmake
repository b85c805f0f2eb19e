# SPDX-License-Identifier: MIT
# The capture engine end to end: decoder, public pcaps against tshark, damaged files, the
# vox-capture command line and a live capture on lo (skipped without CAP_NET_RAW).
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
vox_add_test_binary(test_capture test_capture.c)
target_link_libraries(test_capture PRIVATE PkgConfig::JANSSON m)
target_compile_definitions(test_capture PRIVATE VOX_SCENARIOS_DIR="${PROJECT_SOURCE_DIR}/scenarios"
  VOX_CAPTURE_BIN="$<TARGET_FILE:vox-capture>" VOX_PCAPGEN_BIN="$<TARGET_FILE:vox-pcapgen>")
add_dependencies(test_capture vox-capture vox-pcapgen)
vox_add_test(capture.engine test_capture "unit;capture;pcap")
