# syntax=docker/dockerfile:1
# The S3-compatible object store of docker-compose.yml: MinIO built from the Go module proxy at the
# version pinned in deploy/maven/pom.xml (minio.version), as `flowlake install` builds it locally.
#
#   docker build -f deploy/docker/minio.Dockerfile -t flowlake/minio .
ARG GO_VERSION=1.26
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

FROM golang:${GO_VERSION}-bookworm AS build
ARG MINIO_VERSION
RUN CGO_ENABLED=0 GOBIN=/out go install github.com/minio/minio@${MINIO_VERSION}

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/minio /usr/local/bin/minio
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data"]
