# Onemap in a container; the database comes from DATABASE_URL (see docker-compose.yml).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p onemap

FROM node:20-bookworm-slim AS viewer
WORKDIR /viewer
COPY viewer/package.json viewer/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY viewer/ ./

FROM debian:bookworm-slim
COPY --from=build /src/target/release/onemap /usr/local/bin/onemap
COPY --from=viewer /viewer /opt/onemap/viewer
ENV ONEMAP_VIEWER_DIR=/opt/onemap/viewer ONEMAP_DATA_DIR=/var/lib/onemap
WORKDIR /var/lib/onemap
ENTRYPOINT ["onemap"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
