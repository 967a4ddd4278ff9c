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
COPY --from=build /out/modelvet /usr/local/bin/modelvet
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/modelvet"]
CMD ["--help"]
