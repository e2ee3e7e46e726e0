# doisoat: build in the Rust image, run as a non-root user on slim Debian.
# docker build -t doisoat . && docker run -p 8080:8080 -v doisoat-data:/data doisoat

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY docker/stub-sources.sh /tmp/stub-sources.sh
RUN sh /tmp/stub-sources.sh && cargo build --release --locked --bin doisoat
COPY . .
# Touch so cargo sees the real sources as newer than the stub build.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin doisoat

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system doisoat && useradd --system --gid doisoat --home /data doisoat \
    && mkdir -p /data && chown doisoat:doisoat /data
COPY --from=build /src/target/release/doisoat /usr/local/bin/doisoat
USER doisoat
WORKDIR /data
ENV DATABASE_URL=sqlite:/data/doisoat.db \
    DOISOAT_BIND=0.0.0.0:8080 \
    DOISOAT_LOG_FORMAT=json \
    TZ=Asia/Ho_Chi_Minh
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["doisoat", "healthcheck"]
ENTRYPOINT ["doisoat"]
CMD ["serve"]
