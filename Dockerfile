# syntax=docker/dockerfile:1
# Build stage: compile wheels once, with the toolchain the runtime image does not carry.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY connectors ./connectors
COPY agents ./agents
COPY policies ./policies
RUN python -m venv /opt/switchboard \
 && /opt/switchboard/bin/pip install --upgrade pip \
 && /opt/switchboard/bin/pip install .

# Runtime stage: the venv and nothing else, as an unprivileged user.
FROM python:3.11-slim
ENV PATH=/opt/switchboard/bin:$PATH PYTHONUNBUFFERED=1 \
    SWITCHBOARD_DATABASE_URL=sqlite:////data/switchboard.db
RUN useradd --system --uid 10001 --home-dir /data --create-home switchboard
COPY --from=build /opt/switchboard /opt/switchboard
USER switchboard
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["switchboard"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
