# mlscore sidecar: a reverse proxy / payload-log tap that exports drift and serving metrics.
#   docker build -t mlscore-sidecar:0.1.0 .
#   docker run --rm -p 8000:8000 -p 9108:9108 mlscore-sidecar:0.1.0 \
#       --upstream http://model:8080 --listen 0.0.0.0:8000 --metrics 0.0.0.0:9108
# Build stage: make the wheel (needs the build backend, not wanted at run time).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY src ./src
COPY rules ./rules
COPY reports ./reports
RUN python -m build --wheel --outdir /dist

# Run stage: the wheel with the [sidecar] extra and uvloop, nothing else; no compilers, no root.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /tmp/dist
# DL3013: the wheel is the one just built; its dependencies are bounded by pyproject.toml.
# hadolint ignore=DL3013
RUN set -eux; \
    wheel="$(ls /tmp/dist/mlscore_audit-*.whl)"; \
    pip install --no-cache-dir "${wheel}[sidecar]" "uvloop==0.23.0"; \
    rm -rf /tmp/dist; \
    useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mlscore
USER 10001:10001
EXPOSE 8000 9108
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9108/healthz', timeout=1)"]
ENTRYPOINT ["mlscore", "sidecar"]
CMD ["--upstream", "http://127.0.0.1:8080", "--listen", "0.0.0.0:8000", "--metrics", "0.0.0.0:9108"]
