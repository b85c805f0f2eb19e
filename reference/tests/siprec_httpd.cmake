# SPDX-License-Identifier: MIT
# Tests of the HTTP API server over real loopback sockets, and of its JSON/Prometheus writers.
vox_add_test_binary(test_httpd test_httpd.c)
vox_add_test(siprec.httpd test_httpd "unit;siprec")
