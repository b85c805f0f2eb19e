# SPDX-License-Identifier: MIT
# Tests of the recording-metadata parser and the SIPREC offer extractor: one conformance test
# per vendor INVITE in scenarios/siprec/invites/, merges, tolerance and hostile XML.
vox_add_test_binary(test_rsmeta test_rsmeta.c)
target_compile_definitions(test_rsmeta PRIVATE
  VOX_SCENARIOS_DIR="${PROJECT_SOURCE_DIR}/scenarios")
# the test reads the JSON output back
target_link_libraries(test_rsmeta PRIVATE PkgConfig::JANSSON)
vox_add_test(sip.rsmeta test_rsmeta "unit;sip")
