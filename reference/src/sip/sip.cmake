# SPDX-License-Identifier: MIT
# SIP part: message tokenizer, header-value parsers, validator, framer and printers.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/sip.c ${CMAKE_CURRENT_LIST_DIR}/sip_print.c)
