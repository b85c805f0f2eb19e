# SPDX-License-Identifier: MIT
# vox-capture: the capture engine's command line (reference/src/capture).
add_executable(vox-capture ${CMAKE_CURRENT_LIST_DIR}/capture_main.c)
target_link_libraries(vox-capture PRIVATE vox vox_warnings)
target_compile_definitions(vox-capture PRIVATE _GNU_SOURCE)
set_target_properties(vox-capture PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
