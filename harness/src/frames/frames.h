/* SPDX-License-Identifier: MIT */
/* The "frames" workload process (voxbench __frames), run by the frames driver. */
#ifndef VOX_FRAMES_H
#define VOX_FRAMES_H

/*
 * voxbench __frames --alloc NAME --exec NAME --streams N --seconds S [--frame-ms MS]
 * Runs N paced streams for S seconds and prints one JSON object of figures on stdout.
 * Returns the process exit status (0, 1 on a failed frame or setup, 2 on bad options).
 */
int vox_frames_main(int argc, char **argv);

#endif /* VOX_FRAMES_H */
