# SPDX-License-Identifier: MIT
# Media part: RIFF PCM16 WAV writer (kill-safe) and validating reader.
target_sources(vox PRIVATE ${CMAKE_CURRENT_LIST_DIR}/wav.c)
