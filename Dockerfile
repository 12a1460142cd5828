# One image for every veille service of docker-compose.yml (workers, publisher, web, migrate).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
# the distributed runner's extras: Faust + kafka-python (workers, publisher) and psycopg
RUN pip install --no-cache-dir -e ".[kafka,postgres]"
ENV VEILLE_WORKSPACE=/workspace
ENTRYPOINT ["veille"]
