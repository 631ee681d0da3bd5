# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --tags --always) -t oidcgate .
# Run:   docker run -p 8443:8443 -p 127.0.0.1:9090:9090 \
#          -v /etc/oidcgate:/etc/oidcgate:ro oidcgate
# The configuration is read from /etc/oidcgate/config.toml; put the TLS
# certificate and key (and any identity provider certificates) beside it
# and name them in the file. The admin listener must be set to
# "0.0.0.0:9090" in the file for the published port and the health check
# to reach it.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commitStamp=${COMMIT}" \
      -o /out/oidcgate ./cmd/oidcgate

# distroless/static has CA certificates and a non-root user, and no shell:
# the health check runs the binary itself.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oidcgate /usr/local/bin/oidcgate
USER nonroot:nonroot
EXPOSE 8443 9090
VOLUME ["/etc/oidcgate"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/oidcgate", "healthcheck", "-url", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/oidcgate"]
CMD ["serve", "-config", "/etc/oidcgate/config.toml"]
