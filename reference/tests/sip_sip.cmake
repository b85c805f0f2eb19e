# SPDX-License-Identifier: MIT
# Tests of the SIP message parser, framer, validator and printers (RFC 4475-style torture
# messages, a SIPREC INVITE end to end).
vox_add_test_binary(test_sip test_sip.c)
vox_add_test(sip.message test_sip "unit;sip")
