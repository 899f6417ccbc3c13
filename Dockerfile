# kambot as a container: small, non-root, configured by KAMBOT_* environment variables (see README).
# Build: docker build -t kambot .   Run: docker run -p 3978:3978 --env-file kambot.env kambot
# On start it migrates the database (KAMBOT_MIGRATE_ON_START=false to do it as a release step), then serves.

# The tab pages load Microsoft's Teams client library, Fluent UI's web components and the Teams themes' design
# tokens from kambot's own origin: the npm packages needed at run time.
FROM node:20-bookworm-slim AS teams-js
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KAMBOT_HOST=0.0.0.0 \
    KAMBOT_PORT=3978 \
    KAMBOT_LOG_FORMAT=json
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cards ./cards
COPY graph ./graph
COPY kam ./kam
COPY deploy ./deploy
# Editable: the templates, static files and migrations stay beside the code, where kambot looks for them.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin kambot \
    && mkdir -p /app/var && chown kambot /app/var
COPY --from=teams-js /build/node_modules/@microsoft/teams-js ./node_modules/@microsoft/teams-js
COPY --from=teams-js /build/node_modules/@fluentui/web-components/dist ./node_modules/@fluentui/web-components/dist
COPY --from=teams-js /build/node_modules/@fluentui/tokens/lib ./node_modules/@fluentui/tokens/lib
USER 10001
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["serve"]
