# SPDX-License-Identifier: MIT
# Tests of IP fragment reassembly and TCP stream reassembly of SIP messages.
vox_add_test_binary(test_reasm test_reasm.c)
vox_add_test(capture.reasm test_reasm "unit;capture")
