# SPDX-License-Identifier: MIT
# Tests of the multipart MIME iterator on SIPREC-shaped bodies.
vox_add_test_binary(test_multipart test_multipart.c)
vox_add_test(sip.multipart test_multipart "unit;sip")
