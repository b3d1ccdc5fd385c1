# Engagement Advisor: the Telegram bot in a small, non-root image.
#
#   docker build -t engagement-advisor .
#   docker run -d --name advisor -e TELEGRAM_BOT_TOKEN -v advisor-data:/data engagement-advisor
#
# Two stages: "builder" installs the package and its dependencies into a
# virtual environment at /opt/venv; "runtime" copies only that environment,
# the flows and the texts onto a fresh base, so no build files, caches or
# pip state reach the final image. Both stages use the same base image so
# the copied environment's interpreter paths stay valid.

# The Python minor version matches the one the test suite runs on; the
# Debian release is pinned too so a rebuild cannot switch distributions.
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"

WORKDIR /src
# pyproject.toml names README.md as the package's readme, so the build needs it.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir .


FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="engagement-advisor" \
      org.opencontainers.image.description="A Telegram bot that helps people decide whether to inform, consult or co-produce." \
      org.opencontainers.image.licenses="MIT"

# A fixed uid/gid (10001) so the owner of files on the /data volume is
# predictable across rebuilds and hosts. /data is created and handed to that
# user before the VOLUME instruction, so a new named volume starts out owned
# by it. To use a bind mount instead: chown 10001:10001 the host folder.
RUN groupadd --system --gid 10001 advisor \
    && useradd --system --no-log-init --uid 10001 --gid advisor \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin advisor \
    && mkdir -p /data \
    && chown advisor:advisor /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ADVISOR_FLOWS_DIR=/app/flows \
    ADVISOR_CONTENT_DIR=/app/content \
    ADVISOR_DB_PATH=/data/advisor.sqlite3 \
    ADVISOR_CACHE_DIR=/data/cache

WORKDIR /app
# Flows and texts stay owned by root: the bot reads them but cannot change
# them. To run edited flows without rebuilding, mount over these folders
# read-only (-v "$PWD/flows:/app/flows:ro").
COPY flows ./flows
COPY content ./content

# Refuse to build an image whose flows or texts have errors.
RUN python -m bot flows check

# Numeric, so the runtime (and Kubernetes' runAsNonRoot) can tell it is not root.
USER 10001:10001

VOLUME ["/data"]

# Webhook mode (TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET set) listens
# on ADVISOR_WEBHOOK_PORT, 8080 by default; publish it with -p 8080:8080 behind
# a TLS-terminating proxy. Polling mode (the default) opens no port.
EXPOSE 8080

# Healthy when the database opens and the bot's heartbeat is recent.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

CMD ["python", "-m", "bot", "run"]
