# syntax=docker/dockerfile:1
# One image for both uses: the Deployment runs `serve` (the default command),
# the CronJob runs `run --all`. Build it as the README says, so the binary
# and the labels name the commit:
#   docker build -t registry.example.com/sameteam:1.0 --build-arg VERSION=1.0 \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg COMMIT_DATE=$(git log -1 --format=%cI) .

FROM golang:1.26.8-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# Dependencies first, so a source change does not download them again; the
# cache mounts keep modules and compiled packages across builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify
# .dockerignore keeps .git, the demo's database, outboxes and editor files
# out of the context.
COPY . .
ARG VERSION=dev
ARG COMMIT=""
ARG COMMIT_DATE=""
# The zone database is embedded (main imports time/tzdata; the tag makes
# sure of it): report zones must load in any base image. The context has no
# .git, so the commit comes in as build arguments.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -tags timetzdata \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${COMMIT_DATE}" \
      -o /out/sameteam ./cmd/sameteam

# static-debian12 has CA certificates (TLS to SMTP and the database), /tmp
# and the nonroot user (65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=""
ARG COMMIT_DATE=""
LABEL org.opencontainers.image.title="sameteam" \
      org.opencontainers.image.description="Sales and marketing alignment digests: weekly email and Excel workbook per team" \
      org.opencontainers.image.source="https://github.com/sameteam/sameteam" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${COMMIT_DATE}"
COPY --from=build /out/sameteam /sameteam
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/sameteam"]
CMD ["serve"]
