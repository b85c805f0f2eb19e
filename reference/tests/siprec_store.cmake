# SPDX-License-Identifier: MIT
# Tests of the session map, the session cache and the RTP port allocator, threads included.
vox_add_test_binary(test_store test_store.c)
vox_add_test(siprec.store test_store "unit;siprec")
