# The Shuyu platform image: gateway, workers and migrations share it.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 shuyu

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
COPY migrations ./migrations
RUN pip install --no-cache-dir .

USER shuyu
ENV SHUYU_DATA_DIR=/var/lib/shuyu
EXPOSE 8000
CMD ["shuyu", "serve", "--host", "0.0.0.0", "--port", "8000"]
