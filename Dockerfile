# The flowinfra image: the binary on a small Debian base. The Kubernetes
# manifests of `flowinfra render kubernetes` run it as `flowinfra wait` in
# init containers, and the provisioner image (FROM this one) as
# `flowinfra provision` in the provisioning Job.
#
#   docker build -t flowinfra:0.1.0 .
#
# BUILDER and BASE name maintained public images; override them to build
# from others (the tests use a local stand-in base, with PREBUILT naming a
# binary already built on a Debian 12 machine, copied from the context).

ARG BUILDER=rust:1.95-bookworm
ARG BASE=debian:bookworm-slim

FROM ${BUILDER} AS build
# Empty: compile from the sources. Else: a binary in the build context to use as it is.
ARG PREBUILT=
WORKDIR /src
COPY . .
RUN if [ -n "$PREBUILT" ]; then \
        cp "$PREBUILT" /flowinfra; \
    else \
        cargo build --release --locked && cp target/release/flowinfra /flowinfra; \
    fi

FROM ${BASE}
COPY --from=build /flowinfra /usr/local/bin/flowinfra
# flowinfra needs no privileges: it only opens TCP connections.
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["flowinfra"]
CMD ["--help"]
