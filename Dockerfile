# syntax=docker/dockerfile:1
# One image for both uses: the Deployment runs `serve` (the default command),
# the CronJob runs `run --all`.

FROM golang:1.26.8-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=dev
# The zone database is embedded (main imports time/tzdata; the tag makes
# sure of it): report zones must load in any base image.
RUN go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/sameteam ./cmd/sameteam

# static-debian12 has CA certificates (TLS to SMTP and the database), /tmp
# and the nonroot user (65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sameteam /sameteam
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/sameteam"]
CMD ["serve"]
