# SPDX-License-Identifier: MIT
# Tests of the WAV writer (kill safety, sox as independent reader) and the validating reader.
vox_add_test_binary(test_wav test_wav.c)
vox_add_test(media.wav test_wav "unit;media")
