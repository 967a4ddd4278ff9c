# syntax=docker/dockerfile:1
# modelvet in a container: a static binary (no cgo) on a distroless base
# with no shell and no package manager, running as an unprivileged user.
#
#   docker build -t modelvet .
#   docker run --rm -v "$PWD/models:/work:ro" modelvet scan /work
#
# The build stage's Go matches go.mod's go directive (a test checks it).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/modelvet ./cmd/modelvet

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="modelvet" \
      org.opencontainers.image.description="Decides whether an ML model may be loaded, without loading it" \
      org.opencontainers.image.source="https://github.com/modelvet/modelvet"
COPY --from=build /out/modelvet /usr/local/bin/modelvet
# distroless's nonroot user, numeric so that runAsNonRoot can verify it
USER 65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/modelvet"]
CMD ["--help"]
