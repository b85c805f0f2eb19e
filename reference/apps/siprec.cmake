# SPDX-License-Identifier: MIT
# vox-siprec, the SIPREC recording server.
add_executable(vox-siprec ${CMAKE_CURRENT_LIST_DIR}/siprec_main.c)
target_link_libraries(vox-siprec PRIVATE vox vox_warnings)
target_compile_definitions(vox-siprec PRIVATE _GNU_SOURCE)
set_target_properties(vox-siprec PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
