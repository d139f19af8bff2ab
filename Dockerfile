# The Shuyu platform image: gateway, workers, migrations and (docker backend) the per-job sandbox containers.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 shuyu \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/shuyu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY common ./common
COPY catalog ./catalog
COPY registry ./registry
COPY operation ./operation
COPY policies ./policies
COPY sandbox ./sandbox
COPY audit ./audit
COPY gateway ./gateway
COPY shuyu ./shuyu
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
 && install -d -m 0755 /opt/shuyu \
 && install -m 0444 sandbox/worker.py /opt/shuyu/worker.py

# The data directory belongs to the service user; a named volume mounted here starts with this ownership.
# A job container (docker backend) runs this image as nobody with /opt/shuyu/worker.py, nothing else.
USER 10001:10001
ENV SHUYU_DATA_DIR=/var/lib/shuyu
VOLUME ["/var/lib/shuyu"]
EXPOSE 8000
CMD ["shuyu", "serve", "--host", "0.0.0.0", "--port", "8000"]
