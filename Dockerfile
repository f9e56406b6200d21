# CPU image of kb-app (UI). Models are mounted from a volume at /models, never baked in.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kb_app ./kb_app
COPY ingest ./ingest
COPY vectorstores ./vectorstores
COPY ui ./ui
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir .
ENV KB_HOME=/data KB_MODELS_DIR=/models HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
EXPOSE 8501
CMD ["kb", "ui", "--port", "8501"]
