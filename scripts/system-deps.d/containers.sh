# Container steps (tests/containers): a Docker engine, and busybox to build tiny local images.
PACKAGES+=(docker.io busybox-static)
