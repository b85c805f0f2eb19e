# SPDX-License-Identifier: MIT
# The capture engine: libpcap source, decoder, tracker, outputs, per-call pcap files. The
# reassembly (reasm.cmake), RTP statistics (rtpstats.cmake) and pattern matching (src/gpu) bring
# their own files.
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/decode.c ${CMAKE_CURRENT_LIST_DIR}/track.c
  ${CMAKE_CURRENT_LIST_DIR}/capture.c ${CMAKE_CURRENT_LIST_DIR}/capture_out.c
  ${CMAKE_CURRENT_LIST_DIR}/callpcap.c ${CMAKE_CURRENT_LIST_DIR}/pipe.c)
target_link_libraries(vox PUBLIC PkgConfig::PCAP PRIVATE PkgConfig::JANSSON)
