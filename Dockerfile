# SPDX-License-Identifier: MIT
# voxbench on Debian bookworm: the same install script as CI and the README.
FROM debian:bookworm
WORKDIR /src/voxbench
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/build
# The default suite; mount a volume on /src/voxbench/results to keep its tables.
CMD ["scripts/quick-start"]
