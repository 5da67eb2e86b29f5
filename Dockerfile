# Production image: web (granian, WSGI), ws (daphne, ASGI), worker and beat all run from it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 binutils gettext nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml package.json package-lock.json ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt && npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN find . -name django.po -path '*/locale/*' -execdir msgfmt -o django.mo django.po \; \
 && SECRET_KEY=build PII_ENCRYPTION_KEY=build PII_INDEX_KEY=build python manage.py collectstatic --noinput -v0
RUN useradd --system --home /app cockpit && mkdir -p /app/var && chown cockpit /app/var
USER cockpit
EXPOSE 8000 8001
CMD ["granian", "--interface", "wsgi", "cockpit.wsgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--blocking-threads", "4", "--blocking-threads-idle-timeout", "600"]
