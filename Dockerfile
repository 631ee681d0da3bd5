# syntax=docker/dockerfile:1
# Build, stamping the version and commit that `oidcgate version` and the
# oidcgate_build_info metric report (the build context has no .git):
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) -t oidcgate .
#
# Run:
#   docker run -p 8443:8443 -p 127.0.0.1:9090:9090 \
#     -v /etc/oidcgate:/etc/oidcgate:ro oidcgate
#
# The process runs as the image's user nonroot, uid and gid 65532, and
# reads /etc/oidcgate/config.toml. Every file it reads must be readable by
# that uid: the configuration, the TLS certificate and the identity
# provider certificates may be 0644; the TLS key and secret files should
# be owned by it and 0400, for example
#   chown 65532:65532 /etc/oidcgate/tls/server.key && chmod 0400 /etc/oidcgate/tls/server.key
# or given as secrets (docker secrets, Kubernetes secret volumes with
# fsGroup 65532) and named in the file, such as
#   client_secret_file = "/run/secrets/oidc-client-secret".
# The admin listener must be set to "0.0.0.0:9090" in the file for the
# published port and the health check to reach it.

FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commitStamp=${COMMIT}" \
      -o /out/oidcgate ./cmd/oidcgate

# distroless/static has CA certificates and a non-root user, and no shell:
# the health check runs the binary itself.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oidcgate /usr/local/bin/oidcgate
USER 65532:65532
EXPOSE 8443 9090
VOLUME ["/etc/oidcgate"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/oidcgate", "healthcheck", "-url", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/oidcgate"]
CMD ["serve", "-config", "/etc/oidcgate/config.toml"]
